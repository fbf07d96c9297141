"""Tools that act as the server's counterparts in tests, benchmarks and demos — never part of the
service itself (issue 13 item 4: test-only code leaves the product packages). No product package
imports this one (import contract)."""
