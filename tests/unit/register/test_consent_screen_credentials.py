"""The consent screen names each credential and its contents as the wallet issues them: idp cannot
import the wallet (import contract), so ``register.consent_screen.CREDENTIALS`` mirrors
``wallet.credentials.TYPES`` and this test keeps the two in step (issue 12: the screen never says
something that is not so)."""

from __future__ import annotations

from register.consent_screen import CREDENTIALS
from wallet import credentials


def test_every_issued_credential_is_described_with_exactly_its_claims() -> None:
    assert set(CREDENTIALS) == set(credentials.TYPES)
    for configuration_id, kind in credentials.TYPES.items():
        name, fields = CREDENTIALS[configuration_id]
        assert name == (kind.name_ja, kind.name_en)
        assert fields == tuple((ja, en) for _, ja, en in kind.claims)
