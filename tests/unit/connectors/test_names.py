"""Holder names compared after normalisation (issue 5, item 4: "the holder is the technician" — name
after width, space and old/new kanji normalisation, and birth date). Pure functions: no database."""

from __future__ import annotations

from datetime import date

import pytest

from connectors.names import normalise_name, same_person

SAME = [
    # full width / half width
    ("ｽｽﾞｷ ｲﾁﾛｳ", "スズキ イチロウ"),
    ("Ｓｕｚｕｋｉ　Ｉｃｈｉｒｏ", "suzuki ichiro"),
    ("SUZUKI Ichiro", "suzuki ichiro"),
    # spaces of every kind, or none: U+3000 ideographic, U+0020, U+00A0, tab; the middle dot
    ("鈴木\u3000一郎", "鈴木 一郎"),
    ("鈴木一郎", "鈴木 一郎"),
    ("鈴木\u00a0\u00a0一郎", "鈴木\t一郎"),
    ("ジョン・スミス", "ジョン スミス"),
    (" 鈴木 一郎 ", "鈴木一郎"),
    # old forms (旧字体 and variants) against the new
    ("髙橋\u3000勇", "高橋 勇"),
    ("山﨑 健太", "山崎 健太"),
    ("宮嵜 誠", "宮崎 誠"),
    ("渡邊 博", "渡辺 博"),
    ("渡邉 博", "渡辺 博"),
    ("齊藤 修", "斉藤 修"),
    ("濱田 剛", "浜田 剛"),
    ("澤村 隆", "沢村 隆"),
    ("廣瀬 亮", "広瀬 亮"),
    ("櫻井 恵", "桜井 恵"),
    ("嶋田 聡", "島田 聡"),
    ("國分 浩二", "国分 浩二"),
    ("冨田 直樹", "富田 直樹"),
    ("髙﨑 惠", "高崎 恵"),
    # a compatibility ideograph (U+FA10 塚) folds to the unified one by NFKC
    ("大\ufa10 拓也", "大塚 拓也"),
]

DIFFERENT = [
    ("鈴木 一郎", "鈴木 一朗"),  # 郎 / 朗 are different names, not variants
    ("高橋 勇", "高端 勇"),
    ("佐藤 健", "佐藤 健太"),
    ("鈴木 一郎", "スズキ イチロウ"),  # kanji against its reading is no match
    ("斎藤 健", "斉藤 健"),  # 斎 and 斉 are different characters in current use
]


@pytest.mark.parametrize(("a", "b"), SAME)
def test_names_that_differ_only_in_width_space_or_old_forms_match(a: str, b: str) -> None:
    """Issue 5, item 4: width (NFKC), spaces (U+3000 too), 髙/高, 﨑/崎, 邊・邉/辺, 齊/斉 ... do not
    make a record someone else's."""
    assert normalise_name(a) == normalise_name(b)
    assert same_person(a, date(1985, 4, 12), b, date(1985, 4, 12))


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_different_names_do_not_match(a: str, b: str) -> None:
    """Issue 5, item 4: normalisation folds only forms of the same name."""
    assert normalise_name(a) != normalise_name(b)


def test_same_name_with_another_birth_date_is_not_the_same_person() -> None:
    """Issue 5, item 4: the holder matches on name *and* birth date."""
    assert not same_person("鈴木 一郎", date(1985, 4, 12), "鈴木 一郎", date(1985, 4, 13))
    assert same_person("鈴木　一郎", date(1985, 4, 12), "鈴木 一郎", date(1985, 4, 12))


def test_old_form_sai_matches_its_standard_new_form() -> None:
    """Issue 5, item 4: 齋藤 is the old form of 斎藤 (常用漢字表: 斎 (齋)), one of the most common
    family names (the reference source's generated holders include 斎藤)."""
    assert normalise_name("齋藤 健") == normalise_name("斎藤 健")


def test_tsuchi_yoshi_matches_yoshi() -> None:
    """Issue 5, item 4: 𠮷田 and 吉田 are the same family name written with a variant character."""
    assert normalise_name("𠮷田 誠") == normalise_name("吉田 誠")
