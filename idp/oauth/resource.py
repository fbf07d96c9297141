"""Protected-resource side of access tokens: RFC 6750 Bearer (header or form body, exactly one way)
and RFC 9449 DPoP-bound tokens (scheme ``DPoP`` with a proof carrying ``ath``).

Every check names the resource server doing it and the kinds of token it serves (RFC 9068 §4,
RFC 8707): a token minted for another audience or kind is ``invalid_token`` here, whatever else
it carries (issue 12, hole 1)."""

from __future__ import annotations

from collections.abc import Collection

from fastapi import Request
from sqlmodel import Session

from common.errors import GenbaError
from common.messages import Message, message
from idp.oauth.dpop import CHALLENGE_ALGS, DPoPError
from idp.oauth.http import form_params
from idp.oauth.services import OAuthServices
from idp.oauth.tokens import AccessTokenClaims, Resource, TokenKind


class TokenRefused(GenbaError):
    """The protected resource refuses the request (RFC 6750 §3.1, RFC 9449 §7.1): ``code`` is the
    wire error (``invalid_request`` 400/401, ``invalid_token`` 401, ``insufficient_scope`` 403, or a
    DPoP error), ``headers`` the ``WWW-Authenticate`` challenge (RFC 6750 §3) and ``DPoP-Nonce``.
    Raised by the token checks below; rendered as ``{"error", "error_description"}`` by the
    application's protocol renderer (``app/error_handlers.py``)."""

    status = 401
    #: RFC 6750 §3.1: a request with no authentication at all gets the challenge and no error body
    bare = False

    def __init__(
        self,
        code: str,
        text: Message,
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(text, code=code, status=status, headers=headers)


class TokenMissing(TokenRefused):
    """RFC 6750 §3.1: "If the request lacks any authentication information (e.g., the client was
    unaware that authentication is necessary ...), the resource server SHOULD NOT include an error
    code or other error information": 401 with the challenges (Bearer and DPoP, RFC 9449 §7.1) only."""

    bare = True

    def __init__(self) -> None:
        super().__init__(
            "invalid_request",
            message("token.required"),
            headers={"WWW-Authenticate": f'Bearer realm="genba", DPoP algs="{CHALLENGE_ALGS}"'},
        )


def challenge(code: str, text: Message, scheme: str = "Bearer") -> TokenRefused:
    """RFC 6750 §3 / §3.1: the refusal with its ``WWW-Authenticate`` challenge naming the error;
    ``insufficient_scope`` is 403, every other error 401."""
    return TokenRefused(
        code,
        text,
        status=403 if code == "insufficient_scope" else 401,
        headers={"WWW-Authenticate": f'{scheme} error="{code}", error_description="{text.en}"'},
    )


def dpop_refusal(exc: DPoPError) -> TokenRefused:
    """RFC 9449 §7.1: a protected resource answers a bad proof with 401 and a DPoP challenge (with
    a fresh nonce for ``use_dpop_nonce``, §9)."""
    headers = {"WWW-Authenticate": f'DPoP error="{exc.error}", algs="{CHALLENGE_ALGS}"', **exc.headers}
    return TokenRefused(exc.error, exc.message, status=401, headers=headers)


async def presented_token(request: Request, *, allow_body: bool) -> tuple[str, str]:
    """The token and its scheme (``bearer``/``dpop``); raises :class:`TokenRefused` (400/401), or
    ``ProtocolError`` for a form body that cannot be read (RFC 6749 §3.1)."""
    form: dict[str, str] = {}
    if (
        allow_body
        and request.method == "POST"
        and request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
    ):
        form = await form_params(request)
    header = request.headers.get("authorization")
    body_token = form.get("access_token")
    if header and body_token:
        # RFC 6750 §2: "Clients MUST NOT use more than one method to transmit the token"
        raise TokenRefused("invalid_request", message("token.two_ways"), status=400)
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() not in ("bearer", "dpop") or not value.strip():
            raise challenge("invalid_request", message("token.malformed_header"))
        return value.strip(), scheme.lower()
    if body_token:
        return body_token, "bearer"
    raise TokenMissing()


def verify_presented(
    svc: OAuthServices,
    db: Session,
    request: Request,
    value: str,
    scheme: str,
    *,
    resource: Resource,
    kinds: Collection[TokenKind],
) -> AccessTokenClaims:
    """Check the token for ``resource`` and, for DPoP-bound tokens, the proof (htm, htu, ath, key match)."""
    return verify_token(
        svc,
        db,
        method=request.method,
        path=request.url.path,
        dpop=request.headers.getlist("dpop"),
        value=value,
        scheme=scheme,
        resource=resource,
        kinds=kinds,
    )


def verify_token(
    svc: OAuthServices,
    db: Session,
    *,
    method: str,
    path: str,
    dpop: list[str],
    value: str,
    scheme: str,
    resource: Resource,
    kinds: Collection[TokenKind],
) -> AccessTokenClaims:
    """The token's claims, or :class:`TokenRefused` (RFC 6750 §3.1 ``invalid_token``, RFC 9449 §7.1)."""
    claims = svc.tokens.check_access_token(db, value, resource=resource, kinds=kinds)
    if claims is None:
        raise challenge("invalid_token", message("token.invalid"), "DPoP" if scheme == "dpop" else "Bearer")
    if claims.jkt or scheme == "dpop":
        if scheme != "dpop" or not claims.jkt:
            raise challenge("invalid_token", message("token.dpop_scheme"), "DPoP")
        try:
            proof = svc.dpop.verify(
                db, dpop, method=method, url=svc.config.url(path), now=svc.clock(), access_token=value
            )
        except DPoPError as exc:
            db.commit()  # the proof's jti stays spent
            raise dpop_refusal(exc) from None
        db.commit()
        if proof.jkt != claims.jkt:
            raise challenge("invalid_token", message("token.proof_key"), "DPoP")
    return claims
