"""Input normalisation and validation for account data.

Every check raises :class:`FieldProblem` naming the field and the problem in Japanese
and English, so pages, the CLI and the API can show one clear message (issue 2, "Bad input").
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from common.errors import GenbaError, Message, bilingual
from common.messages import message

DIGITS_14 = re.compile(r"[0-9]{14}")
PHONE = re.compile(r"\+?[0-9][0-9-]{8,18}[0-9]")
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,63}")
STAFF_LOCAL = re.compile(r"[a-z0-9][a-z0-9._-]{0,30}")
KATAKANA = re.compile(r"[\u30a0-\u30ff\u3000 ・ー]+")


class FieldProblem(GenbaError, ValueError):
    """One field failed validation: ``invalid_request``, 400; ``field`` names it, the message
    (from the catalogue, ``field.*`` in :mod:`common.messages`) says what is wrong with it."""

    code = "invalid_request"
    status = 400

    def __init__(self, field: str, ja: Message | str, en: str | None = None) -> None:
        text = bilingual(ja, en)
        super().__init__(text, field=field, args=(field, text.ja, text.en))
        self.field: str = field

    def __str__(self) -> str:
        return f"{self.field}: {self.en} / {self.ja}"


def _has_control(value: str) -> bool:
    """Control characters (Cc) and invisible format characters (Cf: bidi overrides, ZWJ...)."""
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") for ch in value)


def clean_text(value: str, *, field: str, max_length: int, required: bool = True) -> str:
    """NFC-normalise, trim, refuse control characters and over-long values."""
    if not isinstance(value, str):
        raise FieldProblem(field, message("field.not_text"))
    text = unicodedata.normalize("NFC", value).strip()
    if required and not text:
        raise FieldProblem(field, message("field.required"))
    if _has_control(text):
        raise FieldProblem(field, message("field.control_characters"))
    if len(text) > max_length:
        raise FieldProblem(field, message("field.too_long", max_length=max_length))
    return text


def normalise_14_digit_id(value: str, *, field: str) -> str:
    """Normalise a 技能者ID / 事業者ID: full-width digits to half-width, spaces removed, exactly 14 digits.

    NFKC turns full-width digits (０-９) into ASCII; other numeral systems stay non-ASCII
    and are refused by the ASCII-only pattern.
    """
    if not isinstance(value, str):
        raise FieldProblem(field, message("field.not_text"))
    text = "".join(unicodedata.normalize("NFKC", value).split())
    if not DIGITS_14.fullmatch(text):
        raise FieldProblem(field, message("field.fourteen_digits"))
    return text


def clean_kana(value: str, *, field: str = "name_kana") -> str:
    """フリガナ: full-width katakana (half-width katakana is widened by NFKC first)."""
    text = clean_text(unicodedata.normalize("NFKC", value), field=field, max_length=100)
    if not KATAKANA.fullmatch(text):
        raise FieldProblem(field, message("field.katakana"))
    return text


def clean_phone(value: str, *, field: str = "phone") -> str:
    text = clean_text(unicodedata.normalize("NFKC", value), field=field, max_length=30)
    if not PHONE.fullmatch(text):
        raise FieldProblem(field, message("field.phone"))
    return text


def clean_email(value: str, *, field: str = "email") -> str:
    text = clean_text(value, field=field, max_length=254).lower()
    if not EMAIL.fullmatch(text):
        raise FieldProblem(field, message("field.email"))
    return text


def clean_staff_local(value: str, *, field: str = "login") -> str:
    text = clean_text(unicodedata.normalize("NFKC", value), field=field, max_length=31).lower()
    if not STAFF_LOCAL.fullmatch(text):
        raise FieldProblem(field, message("field.staff_login"))
    return text


def clean_birth_date(value: date, *, today: date, field: str = "birth_date") -> date:
    if value > today:
        raise FieldProblem(field, message("field.future_date"))
    if value.year < 1900:
        raise FieldProblem(field, message("field.ancient_date"))
    return value


def parse_date(value: str, *, field: str) -> date:
    try:
        return date.fromisoformat(unicodedata.normalize("NFKC", value).strip())
    except ValueError:
        raise FieldProblem(field, message("field.date_format")) from None


def normalise_username(value: str) -> str:
    """Normalise what a person types as ``username`` at sign-in.

    A 技能者ID typed with full-width digits or spaces becomes its 14 ASCII digits;
    staff logins (``<事業者ID>-<name>``) and e-mail addresses are NFKC-folded and lower-cased.
    """
    text = "".join(unicodedata.normalize("NFKC", value).split()).lower()
    return text[:254]
