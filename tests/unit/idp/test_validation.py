"""Normalisation and validation of account fields (issue 2, item 5 and "Bad input")."""

from __future__ import annotations

import pytest

from idp.validation import FieldProblem, clean_kana, clean_text, normalise_14_digit_id, normalise_username
from idp.web.signin_pages import safe_next


def test_full_width_digits_become_half_width() -> None:
    assert normalise_14_digit_id("１２３４５６７８９０１２３４", field="technician_id") == "12345678901234"


@pytest.mark.parametrize("value", ["1234567890123", "123456789012345", "12345678901２3a", "１２-３４"])
def test_ids_must_be_exactly_14_digits(value: str) -> None:
    with pytest.raises(FieldProblem) as info:
        normalise_14_digit_id(value, field="technician_id")
    assert "14" in info.value.en and "14桁" in info.value.ja


def test_control_and_bidi_characters_are_refused() -> None:
    for value in ("a\x00b", "a\x1bb", "a\u202eb", "a\u200db"):
        with pytest.raises(FieldProblem):
            clean_text(value, field="name", max_length=10)


def test_text_is_nfc_normalised_and_trimmed() -> None:
    assert clean_text("  カ\u3099ス  ", field="name", max_length=10) == "ガス"


def test_half_width_kana_is_widened() -> None:
    assert clean_kana("ｽｽﾞｷ ｲﾁﾛｳ") == "スズキ イチロウ"


def test_username_normalisation() -> None:
    assert normalise_username(" １０００ ００００ ０００ ０１９ ") == "10000000000019"
    assert normalise_username("Hanako@Example.JP") == "hanako@example.jp"


@pytest.mark.parametrize(
    "value", ["//evil.example", "https://evil.example", "/\\evil", "javascript:x", "", None, "/a\nb"]
)
def test_next_never_leaves_the_site(value: str | None) -> None:
    assert safe_next(value) == "/account"


def test_next_keeps_local_paths() -> None:
    assert safe_next("/authorize?client_id=x") == "/authorize?client_id=x"
