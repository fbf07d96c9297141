"""Test helpers: backends, clock, app builders, real server processes."""
