"""Issue 12 hole 4: a victim could be kept locked out forever. Bad passwords from rotating source
addresses, each under its per-address limit, filled the per-account counter, and ``Retry-After`` told
the attacker to the second when to send the next one; meanwhile the owner's correct password and TOTP
got 429 from his usual address.

Now (NIST SP 800-63B §5.2.2; idp/throttle.py, idp/known_devices.py): a browser that completed a sign-in
keeps a signed known-device cookie, and attempts from it count against that device's own budget,
never the pool strangers share, so the owner signs in from his device during the attack. The shared
pool still slows the attacker, but its ``Retry-After`` is the rule's maximum (jittered underneath),
not the moment it lifts.

The attack is made over real TCP from many loopback addresses (127.0.0.2, 127.0.0.3, ...): the test
server trusts no X-Forwarded-For (``genba serve`` without ``--proxy-headers``), so each connection's
own source address is what the throttle sees.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.support.http_user import Credentials, HttpUser
from tests.support.server import LiveServer

#: The account-wide rule's cap (idp/runtime.py DEFAULT_THROTTLE_RULES, ``acct``): all it tells.
ACCOUNT_MAX_DELAY = 900
MAX_ATTEMPTS = 40


@pytest.fixture
def from_address(server: LiveServer) -> Iterator[Callable[[str], HttpUser]]:
    made: list[HttpUser] = []

    def make(address: str) -> HttpUser:
        made.append(HttpUser(server, source=address))
        return made[-1]

    yield make
    for user in made:
        user.close()


def test_rotating_addresses_do_not_lock_the_owner_out_of_his_known_device(
    server: LiveServer,
    users: Callable[..., HttpUser],
    technician: Callable[..., Credentials],
    from_address: Callable[[str], HttpUser],
) -> None:
    who = technician()
    owner = users(server).sign_in(who)  # the owner's own browser at his usual address (127.0.0.1)
    assert owner.form("/logout", "/logout", {}).status_code == 200
    assert owner.get("/account").status_code == 303  # signed out; his browser is known to the account

    # The attacker: one or two bad passwords per address, until the account's shared pool closes.
    refused = None
    for n in range(MAX_ATTEMPTS):
        attempt = from_address(f"127.0.{n // 2 + 2}.{n % 200 + 2}").password_step(who.username, f"guess {n} !!")
        if attempt.status_code == 429:
            refused = attempt
            break
        assert attempt.status_code == 401, attempt.status_code
    assert refused is not None, "the account's shared pool never closed"

    # Right now strangers are refused on this account; the owner's known device is not.
    owner.sign_in(who, steps_ahead=1)
    assert owner.get("/account").status_code == 200

    # And the refusal did not tell the attacker when to come back.
    assert int(refused.headers["retry-after"]) == ACCOUNT_MAX_DELAY
    assert f"{ACCOUNT_MAX_DELAY}秒後" in refused.text
