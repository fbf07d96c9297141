"""One way to fail (issue 13 item 2): every error Genba ID raises on purpose is a ``GenbaError``
carrying its wire code (RFC 6749 §5.2, RFC 6750 §3.1), a bilingual message from the catalogue,
its HTTP status and headers (RFC 6750 §3 ``WWW-Authenticate``)."""

from __future__ import annotations

import ast
import builtins
import string
from pathlib import Path

import pytest

import idp.web  # noqa: F401 - first: idp.oauth.http and idp.web import each other (pre-existing cycle)
from app.backup import BackupError
from app.middleware import BodyTooLarge
from app.serving import HeadTooLarge
from app.settings import SettingsError
from common.errors import GenbaError, bilingual
from common.messages import CATALOGUE, Message, message
from common.outbound import OutboundRefused
from connectors.pipeline import ImportFailed
from connectors.ports import SourceError
from connectors.trust import TrustError
from consent.policy import PolicyError
from consent.ports import ConsentError
from idp.accounts import ImmutableFieldError
from idp.oauth.attestation import AttestationError
from idp.oauth.authorize import ClientError
from idp.oauth.details import DetailsError
from idp.oauth.dpop import DPoPError
from idp.oauth.http import ProtocolError
from idp.oauth.keys import KeyError_
from idp.oauth.logout import EndSessionError
from idp.oauth.resource import TokenMissing, TokenRefused
from idp.passkeys import PasskeyError
from idp.secretbox import SecretBoxError
from idp.validation import FieldProblem
from idp.web.forms import BadForm
from wallet.gate.codec import CodecError
from wallet.ports import AccessError
from wallet.proofs import ProofError
from wallet.sdjwt import SdJwtError
from wallet.verifier import VerificationError

ROOT = Path(__file__).resolve().parents[3]
PRODUCT = ("app", "idp", "register", "consent", "wallet", "connectors", "common")
ALL_ERRORS = [
    AccessError,
    AttestationError,
    BackupError,
    BadForm,
    BodyTooLarge,
    ClientError,
    CodecError,
    ConsentError,
    DPoPError,
    DetailsError,
    EndSessionError,
    FieldProblem,
    HeadTooLarge,
    ImmutableFieldError,
    ImportFailed,
    KeyError_,
    OutboundRefused,
    PasskeyError,
    PolicyError,
    ProofError,
    ProtocolError,
    SdJwtError,
    SecretBoxError,
    SettingsError,
    SourceError,
    TokenRefused,
    TrustError,
    VerificationError,
]
BUILTIN_EXCEPTIONS = {n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)}


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda c: c.__name__)
def test_every_error_class_has_the_one_base(cls: type[Exception]) -> None:
    assert issubclass(cls, GenbaError)


def _exception_classes_outside_the_base() -> list[str]:
    """Classes in product code that derive straight from a built-in exception (or httpx's) without
    ``GenbaError`` beside it. authlib's own ``OAuth2Error`` family stays authlib's."""
    found = []
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.ClassDef):
                    continue
                names = [ast.unparse(b) for b in node.bases]
                foreign = [n for n in names if n in BUILTIN_EXCEPTIONS or (n.startswith("httpx.") and "Error" in n)]
                if foreign and "GenbaError" not in names and node.name != "GenbaError":
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}({', '.join(names)})")
    return found


def test_no_product_exception_bypasses_the_base() -> None:
    """The survey of issue 13 item 2 stays done: a new ``class X(ValueError)`` fails here."""
    assert _exception_classes_outside_the_base() == []


def test_the_base_carries_code_bilingual_message_status_headers_and_field() -> None:
    exc = GenbaError(
        Message("アクセストークンが無効です", "the access token is not valid"),
        code="invalid_token",
        status=401,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        field="access_token",
    )
    assert (exc.code, exc.status, exc.field) == ("invalid_token", 401, "access_token")
    assert (exc.ja, exc.en) == ("アクセストークンが無効です", "the access token is not valid")
    assert exc.headers == {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    assert str(exc) == "the access token is not valid"
    assert exc.bilingual() == "アクセストークンが無効です / the access token is not valid"


def test_the_base_defaults_to_server_error_500_without_headers() -> None:
    """RFC 6749 §5.2 ``server_error`` (via RFC 6749 §4.1.2.1) when nothing more precise is known."""
    exc = GenbaError("something broke")
    assert (exc.code, exc.status, exc.headers, exc.field) == ("server_error", 500, {}, None)
    assert exc.ja == exc.en == "something broke"


def test_headers_are_the_errors_own_copy() -> None:
    given = {"DPoP-Nonce": "n1"}
    exc = GenbaError("x", headers=given)
    given["DPoP-Nonce"] = "changed"
    assert exc.headers == {"DPoP-Nonce": "n1"}


def test_bilingual_takes_a_catalogue_message_or_two_literals() -> None:
    assert bilingual(message("field.required")) == Message("入力してください", "is required")
    assert bilingual("日本語", "English") == Message("日本語", "English")


def test_field_problem_keeps_its_shape_and_takes_the_catalogue() -> None:
    """``field: en / ja`` everywhere it was shown before; ``invalid_request`` 400 (RFC 6749 §5.2)."""
    problem = FieldProblem("name", message("field.too_long", max_length=200))
    assert problem.args == ("name", "200文字以内で入力してください", "must be at most 200 characters")
    assert str(problem) == "name: must be at most 200 characters / 200文字以内で入力してください"
    assert (problem.field, problem.code, problem.status) == ("name", "invalid_request", 400)
    assert isinstance(problem, ValueError)  # callers that catch ValueError keep catching it


def test_historical_constructors_still_work() -> None:
    consent = ConsentError("not_found", "同意依頼が見つかりません", "no such consent request", 404)
    assert (consent.code, consent.ja, consent.en, consent.status) == (
        "not_found",
        "同意依頼が見つかりません",
        "no such consent request",
        404,
    )
    form = BadForm(message("form.csrf"), status=403)
    assert form.status == 403 and form.ja.startswith("フォームの有効期限")
    protocol = ProtocolError("invalid_request", "parameter x is repeated")
    assert (protocol.error, protocol.description, protocol.status) == (
        "invalid_request",
        "parameter x is repeated",
        400,
    )
    access = AccessError(401, "invalid_token", "the access token is not valid", {"WWW-Authenticate": "Bearer"})
    assert (access.error, access.description, access.status) == ("invalid_token", "the access token is not valid", 401)
    assert access.headers == {"WWW-Authenticate": "Bearer"}


def test_a_dpop_nonce_error_carries_the_nonce_header() -> None:
    """RFC 9449 §8: ``use_dpop_nonce`` comes with a fresh ``DPoP-Nonce``."""
    exc = DPoPError("a nonce is required", error="use_dpop_nonce", nonce="n-1")
    assert (exc.error, exc.code, exc.nonce) == ("use_dpop_nonce", "use_dpop_nonce", "n-1")
    assert exc.headers == {"DPoP-Nonce": "n-1"}
    assert DPoPError("bad").headers == {}


def test_a_bare_token_refusal_is_marked_for_no_error_body() -> None:
    """RFC 6750 §3.1: no authentication at all → the challenge, no error code."""
    missing = TokenMissing()
    assert missing.bare and missing.status == 401
    assert missing.headers["WWW-Authenticate"].startswith('Bearer realm="genba"')
    assert not TokenRefused("invalid_token", message("token.invalid")).bare


def test_every_catalogue_entry_has_both_languages() -> None:
    for key, (ja, en) in CATALOGUE.items():
        assert ja.strip() and en.strip(), key
        assert any(ord(c) > 0x3000 for c in ja), f"{key}: the Japanese side has no Japanese"
        assert en.isascii() or "§" in en, f"{key}: the English side is not English"


def test_the_japanese_side_needs_no_parameter_the_english_side_lacks() -> None:
    """Both sides are filled from one set of parameters: ja may leave some out, never add one."""
    fields = string.Formatter()
    for key, (ja, en) in CATALOGUE.items():
        ja_names = {f for _, f, _, _ in fields.parse(ja) if f}
        en_names = {f for _, f, _, _ in fields.parse(en) if f}
        assert ja_names <= en_names, key


def test_message_fills_both_languages_and_refuses_unknown_keys() -> None:
    assert message("form.repeated", key="name") == Message("項目 name が重複しています", "field 'name' is repeated")
    with pytest.raises(KeyError):
        message("no.such.key")
