"""MyNaPortal-style API of the designated record-keeping body (OAuth 2.0 code + PKCE, bulk API)."""
