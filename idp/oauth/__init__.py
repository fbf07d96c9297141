"""OpenID provider on authlib: authorization, token, userinfo, revocation, introspection, PAR, DPoP,
discovery, keys, logout and dynamic registration (OpenID Connect Core 1.0, RFC 6749 and friends).

Its public face is :mod:`idp.oauth.public`; every other module here is internal to idp. This
``__init__`` stays empty on purpose (see :mod:`idp.public`)."""
