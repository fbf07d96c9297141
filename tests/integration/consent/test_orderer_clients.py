"""docs/domain.md rule 5 through an orderer's own system (issue 12, item 11): a client registered for an
orderer (発注者) acts for it, the directory gives it the orderer's relationship — orderer of an active
project where the technician is assigned — and the policy gives it the purpose fields and that
project's attendance only; on SQLite and PostgreSQL.

The world is described in ``conftest.py`` (O1 orders the active site S1, O2 the finished S2; T1 is on
S1 and was on S2; T3 is on no site).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from consent.groups import ALL_GROUPS, fields_of
from consent.ports import Party
from idp.models import OAuthClient
from idp.oauth.clients import create_client
from idp.runtime import SystemRandomness
from idp.validation import FieldProblem
from register import repository as register
from register.directory import RegisterDirectory
from register.disclosure import disclose
from register.owners import find_orderer, set_owner
from register.principal import caller_from_grant
from register.standing import has_standing
from tests.integration.consent.conftest import E1, E2, E3, E4, E5, E6, O1, O2, S1, S2, T1, T2, T3, World

ORDERER_RULE = "orderer-sees-own-project-roster-and-attendance"
ORDERER_VIEW = frozenset({"identity", "current_affiliation", "level_occupation", "work_history"})
NEVER_TO_ORDERERS = {
    "birth_date",
    "address",
    "phone",
    "face_photo",
    "past_employers",
    "health_insurance",
    "pension_insurance",
    "employment_insurance",
    "kentaikyo",
    "qualifications",
    "education",
    "training",
    "awards",
}


def _orderer_client(world: World, orderer_code: str | None, *, employer_id: str | None = None) -> Party:
    """Register a client the way ``genba admin create-client --owner-orderer-id`` does; return the
    party the data API sees for its client_credentials tokens (``caller_from_grant`` without grant)."""
    with world.session() as db:
        row = create_client(
            session=db,
            client_name=f"発注者システム {orderer_code}",
            redirect_uris=[],
            grant_types=["client_credentials"],
            rng=SystemRandomness(),
            now=world.now,
        ).client
        set_owner(session=db, client=row, orderer_code=orderer_code, employer_id=employer_id)
        db.commit()
        caller = caller_from_grant(db, row.client_id, None)
    assert caller is not None
    return caller.party


def test_an_orderer_client_acts_for_its_orderer(world: World) -> None:
    """Rule 5: the client's party names the orderer it belongs to, and the directory computes the
    orderer relationship for it (active project S1 where T1 is assigned)."""
    party = _orderer_client(world, O1)
    assert party.kind == "client" and party.acting_for == Party("orderer", O1)
    relationship = RegisterDirectory(world.engine).relationship(party, T1, now=world.now)
    assert relationship.orderer_sites == (S1,)
    assert relationship.upper_tier_sites == () and not relationship.current_employer


def test_an_orderer_client_sees_the_purpose_fields_and_its_own_project_attendance(world: World) -> None:
    """Rule 5 and policy ``orderer-sees-own-project-roster-and-attendance``: identity, current employer,
    level and occupations, and the work history on S1 only (T1's S2 records stay out); never birth date,
    contact, photo, insurance, qualifications or past employers."""
    decision = world.decide(_orderer_client(world, O1), T1)
    assert decision.allowed == ORDERER_VIEW
    assert set(decision.missing) == set(ALL_GROUPS) - ORDERER_VIEW
    assert decision.rules == (ORDERER_RULE,)
    assert decision.work_history_sites == (S1,)
    with world.session() as db:
        data = disclose(db, world.technician(db, T1), decision, today=world.today).to_json()
    assert set(data) == fields_of(ORDERER_VIEW)
    assert not set(data) & NEVER_TO_ORDERERS
    assert [w["site_id"] for w in data["work_history"]] == [S1]


@pytest.mark.parametrize(
    ("orderer", "technician", "why"),
    [
        (O2, T1, "O2's project S2 is finished"),
        (O1, T3, "T3 is on none of O1's projects"),
        (None, T1, "a client that belongs to nobody has no relationship"),
    ],
)
def test_an_orderer_client_sees_nothing_outside_its_active_projects(
    world: World, orderer: str | None, technician: str, why: str
) -> None:
    """Rule 5 (own projects only) and rule 1 (nothing by default)."""
    decision = world.decide(_orderer_client(world, orderer), technician)
    assert decision.allowed == frozenset(), why
    assert decision.work_history_sites is None


def test_the_orderer_sees_nothing_after_the_project_closes(world: World) -> None:
    """Rule 5: the relationship holds while the project is active; closing the site ends it."""
    party = _orderer_client(world, O1)
    assert world.decide(party, T1).allowed == ORDERER_VIEW
    world.close_site(S1)
    assert world.decide(party, T1).allowed == frozenset()


def test_the_orderer_sees_a_technician_until_his_last_day_on_the_project(world: World) -> None:
    """Rule 5: ``end_assignment`` (``genba admin end-assignment``) ends the assignment on the given day,
    inclusive; from the next day the orderer sees nothing of him, while T2 on the same site stays visible."""
    party = _orderer_client(world, O1)
    with world.session() as db:
        register.end_assignment(session=db, site_id=S1, technician_id=T1, end_date=world.today)
        db.commit()
    assert world.decide(party, T1).allowed == ORDERER_VIEW
    world.clock.advance(days=1)
    assert world.decide(party, T1).allowed == frozenset()
    assert world.decide(party, T2).allowed == ORDERER_VIEW


def test_end_assignment_refuses_what_it_cannot_end(world: World) -> None:
    """Bad input is one readable FieldProblem and changes nothing: a technician not (or no longer) on
    the site, an end before the assignment starts, an unknown site."""
    with world.session() as db:
        with pytest.raises(FieldProblem, match="not assigned"):
            register.end_assignment(session=db, site_id=S1, technician_id=T3, end_date=world.today)
        with pytest.raises(FieldProblem, match="before the assignment starts"):
            register.end_assignment(
                session=db, site_id=S1, technician_id=T1, end_date=world.today - timedelta(days=365)
            )
        with pytest.raises(FieldProblem, match="unknown site"):
            register.end_assignment(session=db, site_id="NO-SUCH", technician_id=T1, end_date=world.today)
        with pytest.raises(FieldProblem, match="not assigned"):  # S2's assignment already ended in 2025
            register.end_assignment(session=db, site_id=S2, technician_id=T1, end_date=world.today)


@pytest.mark.parametrize(
    ("organisation", "expected"),
    [
        (Party("orderer", O1), True),  # the project's orderer
        (Party("orderer", O2), False),  # another orderer
        (Party("orderer", "NO-SUCH"), False),
        (Party("company", E1), True),  # prime
        (Party("company", E2), True),  # first tier
        (Party("company", E3), True),  # second tier (its own technicians only, by the engine)
        (Party("company", E5), True),  # sideways first tier
        (Party("company", E6), False),  # registered others on S1 (代行) but is not on its 施工体制: rule 4
        (Party("company", E4), False),  # unrelated
        (Party("client", "nobody's-client"), False),  # a system that acts for no organisation
        (Party("technician", T1), False),
    ],
)
def test_who_may_name_a_site(world: World, organisation: Party, expected: bool) -> None:
    """Only the site's companies and its orderer may ask for its roster; to anyone else it does not exist."""
    with world.session() as db:
        site = register.find_site(session=db, site_id=S1)
        assert site is not None
        assert has_standing(db, site, organisation) is expected


def test_a_client_belongs_to_a_company_or_an_orderer_never_both(world: World) -> None:
    """One owner at most (the organisation whose relationships the client carries): ``set_owner``
    refuses both or an unknown orderer, and the database refuses a row with both (CHECK constraint)."""
    with world.session() as db:
        row = create_client(
            session=db,
            client_name="二重所有",
            redirect_uris=[],
            grant_types=["client_credentials"],
            rng=SystemRandomness(),
            now=world.now,
        ).client
        with pytest.raises(FieldProblem, match="not both"):
            set_owner(session=db, client=row, employer_id=E1, orderer_code=O1)
        with pytest.raises(FieldProblem, match="not a registered orderer"):
            set_owner(session=db, client=row, orderer_code="NO-SUCH")
        assert set_owner(session=db, client=row, orderer_code=O1) == Party("orderer", O1)
        assert set_owner(session=db, client=row, employer_id=E1) == Party("company", E1)
        assert row.owner_orderer_pk is None  # changing the owner replaces it
        db.commit()
        orderer = find_orderer(session=db, orderer_code=O1)
        assert orderer is not None
        with pytest.raises(IntegrityError):
            db.execute(
                update(OAuthClient)
                .where(col(OAuthClient.client_id) == row.client_id)
                .values(owner_orderer_pk=orderer.id)
            )
        db.rollback()


def test_an_orderer_client_can_ask_for_more_only_with_both_approvals(world: World) -> None:
    """Rule 1 still holds for an orderer's system: qualifications (beyond the purpose fields) need a
    consent approved by both the technician and the employer, requested in the client's name for
    the orderer."""
    party = _orderer_client(world, O1)
    view = world.request(party, ["qualifications"])
    assert view.requester == f"client:{party.id}"
    assert "qualifications" not in world.decide(party, T1).allowed
    world.approve(view.id, "T1", "E3")
    decision = world.decide(party, T1)
    assert decision.allowed == ORDERER_VIEW | {"qualifications"}
    assert decision.consent_ids == (view.id,)
