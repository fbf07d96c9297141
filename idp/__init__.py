"""Genba ID OpenID provider: accounts, strong sign-in, sessions, pages and (in ``idp.oauth``) the OIDC
protocol endpoints.

The rest of Genba ID uses idp only through its public face, :mod:`idp.public` and
:mod:`idp.oauth.public`, and the tables in :mod:`idp.models` (issue 13 item 3; import-linter contract
in pyproject.toml). This ``__init__`` stays empty on purpose: it runs before every ``idp.x`` import,
so re-exporting here would load the whole provider for each (see :mod:`idp.public`)."""
