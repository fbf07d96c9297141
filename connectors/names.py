"""Holder identity matching: names compared after width, space and old/new kanji normalisation.

Written by hand: no maintained library maps 旧字体 to 新字体 for names; the table covers the forms
common in Japanese family and given names (髙/高, 﨑/崎, 邊・邉/辺, 齋・齊/斉, 濱/浜, 澤/沢 ...).
"""

from __future__ import annotations

import unicodedata


def _table() -> dict[int, str]:
    pairs = {
        "髙": "高",
        "﨑": "崎",
        "嵜": "崎",
        "邊": "辺",
        "邉": "辺",
        "齋": "斎",
        "𠮷": "吉",
        "齊": "斉",
        "濱": "浜",
        "濵": "浜",
        "澤": "沢",
        "國": "国",
        "櫻": "桜",
        "廣": "広",
        "德": "徳",
        "龍": "竜",
        "惠": "恵",
        "榮": "栄",
        "曾": "曽",
        "藏": "蔵",
        "當": "当",
        "實": "実",
        "將": "将",
        "壽": "寿",
        "會": "会",
        "學": "学",
        "眞": "真",
        "槇": "槙",
        "冨": "富",
        "桒": "桑",
        "靜": "静",
        "淺": "浅",
        "彌": "弥",
        "巖": "巌",
        "嶋": "島",
        "嶌": "島",
        "圓": "円",
        "萬": "万",
        "應": "応",
        "黑": "黒",
        "增": "増",
        "豐": "豊",
        "禮": "礼",
        "晉": "晋",
        "亞": "亜",
        "傳": "伝",
        "戶": "戸",
        "溪": "渓",
        "瀨": "瀬",
        "穗": "穂",
        "與": "与",
        "條": "条",
        "邨": "村",
        "桺": "柳",
        "舩": "船",
    }
    return {ord(old): new for old, new in pairs.items()}


OLD_FORMS = _table()
#: the old forms to new, and the middle dots dropped (one ``str.translate`` per name: issue 14)
_NEW_FORMS_NO_DOTS = OLD_FORMS | {ord("・"): None, ord("･"): None}


def normalise_name(name: str) -> str:
    """NFKC (full/half width, compatibility ideographs), no spaces of any kind (``str.split``
    splits on exactly the characters ``str.isspace`` names), no middle dots, old forms to new."""
    text = "".join(unicodedata.normalize("NFKC", name).split())
    return text.translate(_NEW_FORMS_NO_DOTS).casefold()


def same_person(name_a: str, birth_a: object, name_b: str, birth_b: object) -> bool:
    return birth_a == birth_b and normalise_name(name_a) == normalise_name(name_b)
