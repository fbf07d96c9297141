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


#: RFC 9101 §10.8 / FAPI 2.0 Message Signing §5.3.1: a signed request object lives at most 60 minutes
#: (``exp - nbf``), and its ``nbf`` is no more than 60 minutes in the past
MAX_LIFETIME_SECONDS = 3600


def _number(claims: dict[str, Any], name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidRequestObjectError(f"a signed request object must carry {name} (RFC 9101 section 10.8)")
    return float(value)


def _check_signed_claims(
    claims: dict[str, Any], client: RegisteredClient, *, issuer: str, now: float | None, skew: float
) -> None:
    """FAPI 2.0 Message Signing §5.3.1 and RFC 9101 §10.8 (issue 12 item 8): ``iss`` is the client,
    ``aud`` is this provider, ``exp`` and ``nbf`` are present, the object lives at most 60 minutes
    and is not older than 60 minutes; a captured object cannot be replayed later."""
    if claims.get("iss") != client.client_id:
        raise InvalidRequestObjectError("request object issuer (iss) must be the client_id")
    aud = claims.get("aud")
    if issuer not in (aud if isinstance(aud, list) else [aud]):
        raise InvalidRequestObjectError("request object audience (aud) must be this provider's issuer")
    exp, nbf = _number(claims, "exp"), _number(claims, "nbf")
    if exp - nbf > MAX_LIFETIME_SECONDS:
        raise InvalidRequestObjectError("request object lifetime (exp - nbf) exceeds 60 minutes")
    if now is None:
        return
    if exp + skew < now:
        raise InvalidRequestObjectError("request object has expired")
    if nbf - skew > now:
        raise InvalidRequestObjectError("request object is not valid yet")
    if nbf < now - MAX_LIFETIME_SECONDS - skew:
        raise InvalidRequestObjectError("request object nbf is more than 60 minutes in the past")


def _check_times_if_present(claims: dict[str, Any], *, now: float | None, skew: float) -> None:
    if now is None:
        return
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if exp is not None and (not isinstance(exp, int | float) or exp + skew < now):
        raise InvalidRequestObjectError("request object has expired")
    if nbf is not None and (not isinstance(nbf, int | float) or nbf - skew > now):
        raise InvalidRequestObjectError("request object is not valid yet")


def decode_request_object(
    value: str, client: RegisteredClient, *, issuer: str, now: float | None = None, skew: float = 30.0
) -> dict[str, str]:
    """Return the authorization parameters inside a request object (values as strings).

    A signed one must name the client (``iss``) and this provider (``aud``) and carry ``exp`` and
    ``nbf`` within the FAPI 2.0 limits (:func:`_check_signed_claims`). An unsigned one (only for a
    client that registered ``none``) is no more trusted than query parameters; its ``exp`` and
    ``nbf``, when present, are still checked (RFC 7519 §4.1.4-5)."""
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
        _check_times_if_present(claims, now=now, skew=skew)
    else:
        if alg not in JWT_ALGS or (registered not in (None, "none") and alg != registered):
            raise InvalidRequestObjectError("request object algorithm is not allowed")
        try:
            keys = KeySet.import_key_set(client.jwks() or {"keys": []})  # type: ignore[arg-type]
            claims = jwt.decode(value, keys, algorithms=[alg]).claims
        except (JoseError, ValueError, KeyError, TypeError):
            raise InvalidRequestObjectError("request object signature does not verify") from None
        _check_signed_claims(claims, client, issuer=issuer, now=now, skew=skew)
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
