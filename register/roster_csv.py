"""The 作業員名簿 (worker roster) as CSV, one row per technician the consent engine let the caller
see (docs/domain.md rule 2; ``GET /api/v1/sites/{site_id}/roster?format=csv``): a cell of a withheld
group is empty. Cells go through ``idp.csv_export.write_csv``, which neutralises formulas."""

from __future__ import annotations

from register.record_view import TechnicianRecordView

#: The 作業員名簿 CSV's columns: record fields, an empty cell where the group was withheld.
ROSTER_CSV_COLUMNS = (
    "technician_id",
    "name",
    "name_kana",
    "birth_date",
    "current_employer",
    "level",
    "occupations",
    "health_insurance",
    "pension_insurance",
    "employment_insurance",
)


def roster_row(view: TechnicianRecordView) -> dict[str, str]:
    """One CSV row: the employer's trade name, the level's number, occupations joined with ・."""
    row = dict.fromkeys(ROSTER_CSV_COLUMNS, "")
    if view.identity is not None:
        row["technician_id"] = view.identity.technician_id
        row["name"] = view.identity.name
        row["name_kana"] = view.identity.name_kana
    if view.birth_date is not None:
        row["birth_date"] = view.birth_date.born.isoformat()
    if view.current_affiliation is not None and view.current_affiliation.employer is not None:
        row["current_employer"] = view.current_affiliation.employer.trade_name
    if view.level_occupation is not None:
        row["level"] = str(view.level_occupation.level or "")
        row["occupations"] = "・".join(view.level_occupation.occupations)
    if view.social_insurance is not None:
        row["health_insurance"] = view.social_insurance.health_insurance
        row["pension_insurance"] = view.social_insurance.pension_insurance
        row["employment_insurance"] = view.social_insurance.employment_insurance
    return row
