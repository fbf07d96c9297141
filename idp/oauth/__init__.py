"""OpenID provider on authlib: authorization, token, userinfo, revocation, introspection, PAR, DPoP,
discovery, keys, logout and dynamic registration (OpenID Connect Core 1.0, RFC 6749 and friends)."""
