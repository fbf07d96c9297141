"""Request objects (RFC 9101, OIDC Core §6.1) and ``id_token_hint`` (OIDC Core §3.1.2.1).

Signed request objects are verified with the client's registered keys. Unsigned ones
(``alg: none``) are accepted only from a client that registered
``request_object_signing_alg=none``; discovery lists only signing algorithms, so for
everyone else they are refused with ``invalid_request_object``.
"""

from __future__ import annotations

import json
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from idp.oauth.clients import JWT_ALGS, RegisteredClient
from idp.oauth.errors import InvalidRequestObjectError
from idp.oauth.keys import SUPPORTED_ALGS, KeyStore


def _b64json(segment: str) -> dict[str, Any]:
    import base64

    value = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def decode_request_object(
    value: str, client: RegisteredClient, *, issuer: str, now: float | None = None, skew: float = 30.0
) -> dict[str, str]:
    """Return the authorization parameters inside a request object (values as strings).

    ``exp`` and ``nbf``, when present, are checked against ``now`` with ``skew`` (RFC 7519 §4.1.4-5,
    RFC 9101 §10.8), so a captured request object cannot be replayed indefinitely."""
    if len(value) > 16384 or value.count(".") != 2:
        raise InvalidRequestObjectError("request object is not a compact JWT")
    try:
        header = _b64json(value.split(".")[0])
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequestObjectError("request object header is not valid") from None
    alg = header.get("alg")
    registered = client.row.request_object_signing_alg
    if alg == "none":
        if registered != "none" or value.split(".")[2]:
            raise InvalidRequestObjectError("unsigned request objects are not accepted for this client")
        try:
            claims = _b64json(value.split(".")[1])
        except (ValueError, UnicodeDecodeError):
            raise InvalidRequestObjectError("request object payload is not valid") from None
    else:
        if alg not in JWT_ALGS or (registered not in (None, "none") and alg != registered):
            raise InvalidRequestObjectError("request object algorithm is not allowed")
        try:
            keys = KeySet.import_key_set(client.jwks() or {"keys": []})  # type: ignore[arg-type]
            claims = jwt.decode(value, keys, algorithms=[alg]).claims
        except (JoseError, ValueError, KeyError, TypeError):
            raise InvalidRequestObjectError("request object signature does not verify") from None
        aud = claims.get("aud")
        if aud is not None and issuer not in (aud if isinstance(aud, list) else [aud]):
            raise InvalidRequestObjectError("request object audience is not this provider")
        if "iss" in claims and claims["iss"] != client.client_id:
            raise InvalidRequestObjectError("request object issuer is not the client")
    if now is not None:
        exp, nbf = claims.get("exp"), claims.get("nbf")
        if exp is not None and (not isinstance(exp, int | float) or exp + skew < now):
            raise InvalidRequestObjectError("request object has expired")
        if nbf is not None and (not isinstance(nbf, int | float) or nbf - skew > now):
            raise InvalidRequestObjectError("request object is not valid yet")
    if "request" in claims or "request_uri" in claims:
        raise InvalidRequestObjectError("request objects must not nest")
    return {
        k: v if isinstance(v, str) else json.dumps(v)
        for k, v in claims.items()
        if k not in ("iss", "aud", "exp", "iat", "nbf", "jti")
    }


def subject_from_id_token_hint(value: str, *, keys: KeyStore, issuer: str, client_id: str) -> str | None:
    """The ``sub`` of an ID token we issued to this client (expired ones are fine as hints); ``None``
    for anything else, including our own access and logout tokens (OIDC Core §3.1.2.1: the hint is
    "ID Token previously issued by the Authorization Server")."""
    if len(value) > 8192:
        return None
    try:
        compact = jws.extract_compact(value.encode("ascii"))
        if compact.protected.get("alg") not in SUPPORTED_ALGS:
            return None
        if compact.protected.get("typ", "JWT") != "JWT":
            # our ID tokens say ``typ: JWT``; an access token (``at+jwt``, RFC 9068 §2.1) or a logout
            # token (``logout+jwt``) is not an ID token whatever its claims (issue 12 item 8)
            return None
        kid = compact.protected.get("kid")
        published = keys.verification_keys(kid if isinstance(kid, str) else None)  # OIDC Core §10.1.1
        claims = jwt.decode(value, published, algorithms=list(SUPPORTED_ALGS)).claims
    except (JoseError, ValueError, UnicodeEncodeError):
        return None
    aud = claims.get("aud")
    auds = aud if isinstance(aud, list) else [aud]
    if claims.get("iss") != issuer or client_id not in auds or not isinstance(claims.get("sub"), str):
        return None
    return str(claims["sub"])
