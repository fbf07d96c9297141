"""Issue 12 item 9: what a former employer keeps of its technicians' consents (``consent.receipt``),
on every storage backend: the receipt of a consent it decided itself, limited to its own act; no
receipt of one it never decided; no inbox entries about a technician who left."""

from __future__ import annotations

from consent.ports import Party
from tests.integration.consent.conftest import E3, T1, World

ASKED = ["qualifications", "work_history"]
E2 = "20000000000002"


def test_while_employed_the_employer_reads_every_receipt_and_lists_every_consent(world: World) -> None:
    decided, undecided = world.request("E4", ASKED), world.request("E4", ["identity"])
    world.approve(decided.id, "T1", "E3")
    for view in (decided, undecided):
        receipt = world.service.receipt_for(view.id, world.party("E3"), now=world.now)
        assert receipt is not None and "state" in receipt
    assert {v.id for v in world.service.for_employer(E3, now=world.now)} >= {decided.id, undecided.id}


def test_after_the_technician_leaves_only_its_own_decision_remains(world: World) -> None:
    decided, refused, undecided = (world.request("E4", ASKED) for _ in range(3))
    world.approve(decided.id, "T1", "E3")
    world.service.refuse(refused.id, world.party("E3"), now=world.now)
    world.move("T1", E2, world.today)

    approved = world.service.receipt_for(decided.id, world.party("E3"), now=world.now)
    assert approved is not None and approved["employerDecision"] == "approved"
    assert "state" not in approved and "technicianDecision" not in approved
    no = world.service.receipt_for(refused.id, world.party("E3:staff"), now=world.now)
    assert no is not None and no["employerDecision"] == "refused"
    assert world.service.receipt_for(undecided.id, world.party("E3"), now=world.now) is None
    assert world.service.for_employer(E3, now=world.now) == []
    # the technician keeps all of them; the new employer was never a party; nor is anyone else
    for view in (decided, refused, undecided):
        assert world.service.receipt_for(view.id, Party("technician", T1), now=world.now) is not None
        assert world.service.receipt_for(view.id, world.party("E2"), now=world.now) is None
        assert world.service.receipt_for(view.id, world.party("C4"), now=world.now) is None
    assert world.service.receipt_for("nope", Party("technician", T1), now=world.now) is None
