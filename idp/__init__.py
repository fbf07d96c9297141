"""Genba ID OpenID provider: accounts, strong sign-in, sessions and (later) OIDC protocol endpoints."""
