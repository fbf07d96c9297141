"""What other parts of Genba ID add to the OpenID provider, given to it when it is built
(``runtime.build_oauth``): nothing is attached to the provider, its server or the application's
state afterwards, and nothing is looked up by name (docs/architecture.md "Ports and the wiring in
app"). The application fills :class:`ProviderExtensions` (``app/factory.py``); with the defaults the
provider releases nothing beyond its own claims and offers only its own grants.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from authlib.oauth2.rfc6749.grants import BaseGrant, TokenEndpointMixin
from sqlmodel import Session

from idp.consent_notice import ReleasePreviewer
from idp.oauth.issuance import IdTokenClaims
from idp.oauth.server import GenbaRequest
from idp.oauth.tokens import AccessTokenClaims

#: claims added to the userinfo response (OIDC Core §5.3.2) for a checked access token
UserinfoClaims = Callable[[Session, AccessTokenClaims], dict[str, Any]]


class TokenGrant(Protocol):
    """An extension grant at the token endpoint (RFC 6749 §4.5), e.g. OpenID4VCI 1.0 §6.1's
    pre-authorized code. It authenticates its own caller (a pre-authorized code authenticates the
    holder, not a client) and answers the whole token response."""

    @property
    def grant_type(self) -> str:
        """The absolute URI of the grant type (RFC 6749 §4.5), also listed in discovery."""
        ...

    def token_response(self, params: Mapping[str, str], *, jkt: str | None) -> dict[str, Any]:
        """RFC 6749 §5.1: the successful response for these form parameters, with tokens bound to the
        DPoP key ``jkt`` when there is one (RFC 9449 §5); raises authlib's ``OAuth2Error`` for §5.2."""
        ...


@dataclass(frozen=True)
class ProviderExtensions:
    """Every extension point of the provider, typed, in one value."""

    #: technician claims in userinfo, under the consent engine (``register.claims.ccus_userinfo``)
    userinfo_claims: UserinfoClaims | None = None
    #: technician claims in ID tokens (``register.claims.ccus_id_token``)
    id_token_claims: IdTokenClaims | None = None
    #: grants the token endpoint offers beside its own (the wallet's pre-authorized code)
    token_grants: tuple[TokenGrant, ...] = ()
    #: provider metadata contributed by other parts (RFC 8414 §2; OpenID4VCI 1.0 §12.3)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    #: what the authorization page shows a technician will be released (``idp.consent_notice``)
    release_preview: ReleasePreviewer | None = None


def as_authlib_grant(extension: TokenGrant) -> type[BaseGrant]:
    """The authlib grant that answers ``extension``'s grant type at ``/token``: the form and the key of
    the request's verified DPoP proof are handed over explicitly."""

    class ExtensionGrant(BaseGrant, TokenEndpointMixin):  # type: ignore[misc]
        GRANT_TYPE = extension.grant_type
        request: GenbaRequest

        def validate_token_request(self) -> None:
            """The extension validates while it answers (``token_response``)."""

        def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
            jkt = self.request.dpop.jkt if self.request.dpop is not None else None
            body = extension.token_response(self.request.form, jkt=jkt)
            return 200, body, [("Content-Type", "application/json"), ("Cache-Control", "no-store")]

    return ExtensionGrant
