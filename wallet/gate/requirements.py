"""Site requirements as DCQL queries (OpenID4VP 1.0 §6) and matching presented credentials to them,
with the plain-language reason when something is missing (「玉掛け技能講習の修了証がありません」).

The CCUS card with social insurance enrolment confirmed is always required: entry checks are to use
CCUS data (MLIT notice 1(2)). Crane work also needs 玉掛け and 小型移動式クレーン, work at height フルハーネス特別教育:
the kinds of work and their courses are the catalogue's (``common/courses.py``).

Every certificate query asks for the holder's 技能者ID as well as the name, so the gate joins a
certificate to the card by the technician, not by a name two people may share (issue 12, item 9);
``with_holder_id`` adds it to a site's own queries that forgot it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from common import courses as catalogue
from wallet.credentials import CARD, CERTIFICATE, TYPES

INSURED = ["enrolled", "exempt"]
CARD_CLAIMS = ["technician_id", "name", "level", "level_colour"]
#: course code -> (ja, en) and kind of work -> (ja, en, the courses it needs): the one catalogue
#: (common/courses.json), so the gate asks for the codes the certificate sources issue (issue 15, Broken 1)
COURSES: dict[str, tuple[str, str]] = {code: (c.ja, c.en) for code, c in catalogue.COURSES.items()}
WORK_KINDS: dict[str, tuple[str, str, list[str]]] = {
    code: (w.ja, w.en, list(w.requires)) for code, w in catalogue.WORK_KINDS.items()
}


def card_query(issuer: str) -> dict[str, Any]:
    return {
        "id": "ccus_card",
        "format": "dc+sd-jwt",
        "meta": {"vct_values": [TYPES[CARD].vct(issuer)]},
        "claims": [
            *({"path": [c]} for c in CARD_CLAIMS),
            *({"path": ["social_insurance", k], "values": INSURED} for k in ("health", "pension", "employment")),
        ],
    }


def course_query(issuer: str, code: str) -> dict[str, Any]:
    return {
        "id": f"course_{code.replace('-', '_')}",
        "format": "dc+sd-jwt",
        "meta": {"vct_values": [TYPES[CERTIFICATE].vct(issuer)]},
        "claims": [
            {"path": ["course_code"], "values": [code]},
            {"path": ["course_name"]},
            {"path": ["completed_on"]},
            {"path": ["holder_name"]},
            {"path": ["technician_id"]},
        ],
    }


def is_certificate_query(query: dict[str, Any], issuer: str) -> bool:
    vcts = query.get("meta", {}).get("vct_values", []) if isinstance(query.get("meta"), dict) else []
    paths = [c.get("path") for c in query.get("claims", []) if isinstance(c, dict)]
    return TYPES[CERTIFICATE].vct(issuer) in vcts or ["course_code"] in paths


def with_holder_id(dcql: dict[str, Any], issuer: str) -> dict[str, Any]:
    """The query with ``technician_id`` asked for in every certificate query (a copy; the input is kept)."""
    out = dict(dcql)
    queries = []
    for query in dcql.get("credentials", []):
        if isinstance(query, dict) and is_certificate_query(query, issuer):
            claims = [c for c in query.get("claims", []) if isinstance(c, dict)]
            if not any(c.get("path") == ["technician_id"] for c in claims):
                query = dict(query, claims=[*claims, {"path": ["technician_id"]}])
        queries.append(query)
    out["credentials"] = queries
    return out


def default_dcql(issuer: str, work_kind: str) -> dict[str, Any]:
    courses = WORK_KINDS.get(work_kind, WORK_KINDS["general"])[2]
    return {"credentials": [card_query(issuer), *(course_query(issuer, c) for c in courses)]}


@dataclass(frozen=True)
class Missing:
    query_id: str
    ja: str
    en: str


def describe(query: dict[str, Any]) -> tuple[str, str]:
    """Plain words for a credential query: the course name for certificates, the card otherwise."""
    for claim in query.get("claims", []):
        if claim.get("path") == ["course_code"] and claim.get("values"):
            ja, en = COURSES.get(claim["values"][0], (claim["values"][0], claim["values"][0]))
            return f"{ja}の修了証", f"the {en} certificate"
    return "建設キャリアアップカード", "the CCUS card"


def _get(claims: dict[str, Any], path: list[Any]) -> tuple[bool, Any]:
    """DCQL claims path (§7): strings select object members, integers array elements."""
    node: Any = claims
    for step in path:
        if isinstance(node, dict) and isinstance(step, str):
            if step not in node:
                return False, None
            node = node[step]
            continue
        if isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            node = node[step]
            continue
        return False, None
    return True, node


def satisfies(query: dict[str, Any], vct: str, claims: dict[str, Any]) -> str | None:
    """``None`` if the credential answers the query, else which claim is missing or wrong."""
    if vct not in query.get("meta", {}).get("vct_values", [vct]):
        return "vct"
    for claim in query.get("claims", []):
        present, value = _get(claims, claim["path"])
        if not present:
            return ".".join(str(p) for p in claim["path"])
        if "values" in claim and value not in claim["values"]:
            return ".".join(str(p) for p in claim["path"])
    return None


def missing_reason(query: dict[str, Any], problem: str | None) -> Missing:
    ja, en = describe(query)
    if problem and problem.startswith("social_insurance"):
        return Missing(query["id"], "社会保険の加入が確認できません", "social insurance enrolment is not confirmed")
    if problem in (None, "vct"):
        return Missing(query["id"], f"{ja}がありません", f"{en} is missing")
    if problem == "technician_id" and ja.endswith("修了証"):
        return Missing(
            query["id"],
            f"{ja}に技能者IDがありません（ウォレットで受け取り直してください）",
            f"{en} carries no technician ID (receive it again in the wallet)",
        )
    return Missing(query["id"], f"{ja}の必要な項目（{problem}）が提示されていません", f"{en} lacks {problem}")


def revealed_claims(query: dict[str, Any]) -> list[str]:
    """Top-level claim names a wallet must disclose for this query (everything else stays hidden)."""
    return sorted({str(c["path"][0]) for c in query.get("claims", [])})
