"""TOTP verification (RFC 6238)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from idp import totp
from idp.runtime import SystemRandomness

T0 = datetime(2026, 11, 27, 1, 0, 5, tzinfo=UTC)


def test_rfc6238_appendix_b_sha1_vector() -> None:
    """RFC 6238 Appendix B: T=59 s gives 94287082 (8 digits); our 6-digit code is its last six digits."""
    import base64

    secret = base64.b32encode(b"12345678901234567890").decode()
    assert totp.current_code(secret, now=datetime.fromtimestamp(59, tz=UTC)) == "287082"


def test_code_accepted_within_one_step_of_drift_only() -> None:
    """RFC 6238 §5.2: accept at most one step of clock drift."""
    secret = totp.new_secret(SystemRandomness())
    code = totp.current_code(secret, now=T0)
    assert totp.verify(secret, code, now=T0 + timedelta(seconds=30), last_step=None) is not None
    assert totp.verify(secret, code, now=T0 + timedelta(seconds=61), last_step=None) is None


def test_replayed_step_is_refused() -> None:
    """RFC 6238 §5.2: the verifier must not accept the second attempt of the same OTP."""
    secret = totp.new_secret(SystemRandomness())
    code = totp.current_code(secret, now=T0)
    match = totp.verify(secret, code, now=T0, last_step=None)
    assert match is not None
    assert totp.verify(secret, code, now=T0, last_step=match.step) is None


def test_malformed_codes_are_refused() -> None:
    secret = totp.new_secret(SystemRandomness())
    for bad in ("", "12345", "1234567", "abcdef", "١٢٣٤٥٦"):
        assert totp.verify(secret, bad, now=T0, last_step=None) is None


def test_secret_is_160_bits() -> None:
    """RFC 4226 §4 R6: shared secret of at least 128, recommended 160 bits."""
    assert len(totp.new_secret(SystemRandomness())) == 32


def test_qr_is_inline_svg_of_otpauth_uri() -> None:
    uri = totp.provisioning_uri("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", account_name="10000000000019")
    assert uri.startswith("otpauth://totp/Genba%20ID:10000000000019?")
    assert totp.qr_svg(uri).startswith("<svg")
