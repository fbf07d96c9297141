"""Races and time: two requests for the same pre-authorized code, parallel tx_code guesses, and
credentials that must stay verifiable for as long as they are valid.

The races are made deterministic without sleeping or threads: ``wallet.offers.redeem`` reads the
offer, then asks the runtime's clock for the time, then writes. The first redeemer gets a runtime
whose clock, on its first call, lets a second redeemer (its own session and connection) run to the
end: exactly the interleaving two workers produce. An implementation that claims the offer
atomically (``UPDATE ... WHERE redeemed_at IS NULL`` / ``tx_code_attempts < limit``) passes; on
PostgreSQL a ``lock_timeout`` keeps a row-locking one from waiting on itself forever.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from authlib.oauth2.rfc6749.errors import InvalidGrantError
from cryptography import x509
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session

from tests.integration.wallet.conftest import Seeded
from tests.support.clock import FrozenClock
from tests.support.wallet import Wallet, jwt_parts, new_offer, split_sd_jwt
from wallet import offers, sdjwt, verifier
from wallet.runtime import WalletRuntime


def _session(issuer: WalletRuntime) -> Session:
    session = Session(issuer.engine, expire_on_commit=False)
    if issuer.engine.dialect.name == "postgresql":
        session.execute(text("SET lock_timeout = '5s'"))
    return session


def _interleaved(issuer: WalletRuntime, competitor: Callable[[], object]) -> WalletRuntime:
    """A runtime for the first redeemer whose clock runs ``competitor`` once, between read and write."""
    done = False

    def clock() -> datetime:
        nonlocal done
        if not done:
            done = True
            competitor()
        return issuer.clock()

    return dataclasses.replace(issuer, clock=clock)


def _redeem(issuer: WalletRuntime, code: str, tx_code: str | None) -> bool:
    """One token request's redemption in its own transaction; True if it got the offer."""
    with _session(issuer) as session:
        try:
            offers.redeem(session, issuer, code, tx_code)
            session.commit()
        except InvalidGrantError:
            return False
        except Exception:  # a lock timeout or serialization failure also means "did not get it"
            session.rollback()
            return False
    return True


def test_a_pre_authorized_code_is_redeemed_once_even_by_concurrent_requests(
    client: TestClient, seeded: Seeded, wallet: Wallet, issuer: WalletRuntime
) -> None:
    """OpenID4VCI 1.0 §4.1.1 (pre-authorized_code single use) and §6.3 (``invalid_grant`` for a used
    code), under two token requests that interleave between the check and the write."""
    offer = new_offer(client.app, seeded.technician_id)  # type: ignore[arg-type]
    code = wallet.code_of(wallet.fetch_offer(offer.link))
    results: list[bool] = []
    first = _interleaved(issuer, lambda: results.append(_redeem(issuer, code, offer.tx_code)))
    results.insert(0, _redeem(first, code, offer.tx_code))
    assert len(results) == 2
    assert results.count(True) == 1, f"both token requests redeemed the same code: {results}"


def test_parallel_wrong_tx_codes_all_count_against_the_limit(
    client: TestClient, seeded: Seeded, wallet: Wallet, issuer: WalletRuntime
) -> None:
    """OpenID4VCI 1.0 §6.3 (wrong Transaction Code: ``invalid_grant``) and §13.6.1: three pairs of
    parallel wrong guesses are six wrong attempts, more than the limit of five, so the right code is
    refused afterwards."""
    offer = new_offer(client.app, seeded.technician_id)  # type: ignore[arg-type]
    assert offer.tx_code is not None
    code = wallet.code_of(wallet.fetch_offer(offer.link))
    wrong = f"{(int(offer.tx_code) + 7) % 1_000_000:06d}"
    pairs = issuer.config.tx_code_attempts // 2 + 1
    for _ in range(pairs):
        second = _interleaved(issuer, lambda: _redeem(issuer, code, wrong))
        assert _redeem(second, code, wrong) is False
    assert _redeem(issuer, code, offer.tx_code) is False, "the right code still works after 6 wrong guesses"


def _issue(client: TestClient, seeded: Seeded, clock: FrozenClock) -> tuple[str, Wallet]:
    wallet = Wallet(client, "http://localhost", int(clock().timestamp()))
    token = wallet.access_token(new_offer(client.app, seeded.technician_id, ["ccus_card"]))  # type: ignore[arg-type]
    keys, body = wallet.issue(token["access_token"], "ccus_card")
    wallet.keys = keys
    return body["credentials"][0]["credential"], wallet


def _leaf(credential: str) -> x509.Certificate:
    header, _ = jwt_parts(split_sd_jwt(credential)[0])
    return x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))


def test_a_credential_stays_verifiable_until_its_exp(
    client: TestClient, seeded: Seeded, issuer: WalletRuntime, clock: FrozenClock
) -> None:
    """SD-JWT VC §3.5 (x5c) with RFC 5280 §6 path validation at verification time: the signing
    certificate must cover the credential's whole validity, so a credential that is not expired
    verifies against the pinned root."""
    issuer.keys.current(clock())  # the issuer key exists from day 0 (first issuance, or the CLI)
    clock.advance(days=200)
    credential, wallet = _issue(client, seeded, clock)
    _, payload = jwt_parts(split_sd_jwt(credential)[0])
    clock.advance(days=170)  # day 370: the credential is valid until day 565
    assert clock().timestamp() < payload["exp"]
    presentation = sdjwt.present(
        credential, reveal=["name"], holder_key=wallet.keys[0], aud="gate", nonce="n", iat=int(clock().timestamp())
    )
    root = client.get("/wallet/root.pem").text
    verified = verifier.verify(
        presentation, now=clock(), aud="gate", nonce="n", skew=timedelta(seconds=60), root_pem=root
    )
    assert verified.claims["name"]


def test_a_long_running_issuer_never_signs_with_an_expired_certificate(
    client: TestClient, seeded: Seeded, issuer: WalletRuntime, clock: FrozenClock
) -> None:
    """RFC 5280 §4.1.2.5 (validity) / SD-JWT VC §3.5: what the issuer signs today carries an x5c
    certificate valid today."""
    issuer.keys.current(clock())
    clock.advance(days=366)
    credential, _ = _issue(client, seeded, clock)
    leaf = _leaf(credential)
    assert leaf.not_valid_before_utc <= clock() <= leaf.not_valid_after_utc


def test_a_credential_signed_with_the_gates_request_key_is_not_a_genba_credential(
    client: TestClient, seeded: Seeded, issuer: WalletRuntime, clock: FrozenClock
) -> None:
    """SD-JWT VC §3.5 (x5c: the leaf certifies the *issuer* ``iss``) and key separation: only the
    credential issuer's certificate makes a credential trusted."""
    from joserfc.jwk import ECKey

    gate = issuer.keys.verifier(clock())
    holder = ECKey.generate_key("P-256")
    now = int(clock().timestamp())
    forged = sdjwt.issue(
        payload={
            "iss": issuer.config.issuer,
            "iat": now,
            "exp": now + 3600,
            "vct": f"{issuer.config.issuer}/vct/ccus-technician-card",
            "cnf": {"jwk": holder.as_dict(private=False)},
        },
        selective={"name": "偽 造", "level": 4},
        key=gate.key,
        header={"kid": gate.kid, "x5c": gate.x5c},
        decoys=1,
    ).sd_jwt
    presentation = sdjwt.present(forged, reveal=["name", "level"], holder_key=holder, aud="gate", nonce="n", iat=now)
    root = client.get("/wallet/root.pem").text
    with pytest.raises(verifier.VerificationError):
        verifier.verify(presentation, now=clock(), aud="gate", nonce="n", skew=timedelta(seconds=60), root_pem=root)


def test_two_workers_creating_the_first_issuer_key_at_once_agree_on_one_root(issuer: WalletRuntime) -> None:
    """SD-JWT VC §3.5 with a pinned trust anchor: there is one root, every worker can load its key.

    Two KeyRings on one database are two worker processes. The second runs its whole first use right
    after the first one has looked for a root and found none (an engine event at that statement)."""
    from sqlalchemy import event

    from wallet.keys import KeyRing
    from wallet.models import IssuerKey

    sealer = issuer.keys._sealer  # the server's own key sealing, as both workers would have it
    first = KeyRing(issuer.engine, sealer, issuer=issuer.config.issuer)
    second = KeyRing(issuer.engine, sealer, issuer=issuer.config.issuer)
    now = issuer.clock()
    fired = False

    def after(conn, cursor, statement, parameters, context, executemany) -> None:
        nonlocal fired
        if not fired and "FROM issuerkey" in statement and "root" in str(parameters):
            fired = True
            second.current(now)

    event.listen(issuer.engine, "after_cursor_execute", after)
    try:
        first.current(now)
    finally:
        event.remove(issuer.engine, "after_cursor_execute", after)
    assert fired
    with Session(issuer.engine) as session:
        from sqlmodel import col, select

        roots = session.exec(select(IssuerKey).where(col(IssuerKey.kind) == "root")).all()
    assert len(roots) == 1
    restarted = KeyRing(issuer.engine, sealer, issuer=issuer.config.issuer)
    assert restarted.current(now).root_pem == first.current(now).root_pem == second.current(now).root_pem
