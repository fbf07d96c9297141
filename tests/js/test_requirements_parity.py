"""The site requirements the browser uses (wallet/static/common/dcql.js: the wallet's offline answer to a
GC1 challenge, the gate's offline reasons) are the server's (wallet/gate/requirements.py): the same DCQL
query per kind of work (OpenID4VP 1.0 §6), the same course names and the same words for what is missing.
The JavaScript is run by Node.js (20+, as the other JavaScript tests; without it this test fails)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from wallet.gate import requirements

MODULE = Path(__file__).resolve().parents[2] / "wallet" / "static" / "common" / "dcql.js"
ISSUER = "https://issuer.genba.example"
PROBLEMS = [None, "vct", "name", "technician_id", "social_insurance.health", "course_name"]

SCRIPT = """
import * as dcql from %s;
const [issuer, problems] = JSON.parse(process.argv[1]);
const out = { courses: dcql.COURSES, kinds: dcql.WORK_KINDS, dcql: {}, reasons: {}, revealed: {}, known: {} };
for (const kind of [...Object.keys(dcql.WORK_KINDS), "unknown-kind"]) {
  const query = dcql.defaultDcql(issuer, kind);
  out.dcql[kind] = query;
  out.known[kind] = dcql.knownWorkKind(kind);
  for (const q of query.credentials) {
    out.reasons[q.id] = problems.map((p) => dcql.missingReason(q, p));
    out.revealed[q.id] = dcql.revealedClaims(q);
  }
}
console.log(JSON.stringify(out));
"""


def javascript() -> dict[str, Any]:
    node = shutil.which("node")
    assert node, "node (Node.js 20+) is needed on PATH"
    completed = subprocess.run(
        [node, "--input-type=module", "-e", SCRIPT % json.dumps(MODULE.as_uri()), json.dumps([ISSUER, PROBLEMS])],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


def test_the_browser_requirements_are_the_servers() -> None:
    """OpenID4VP 1.0 §6 (DCQL): one requirement per kind of work, asked and explained alike on both sides."""
    js = javascript()
    assert js["courses"] == {code: list(names) for code, names in requirements.COURSES.items()}
    assert js["kinds"] == {kind: list(entry) for kind, entry in requirements.WORK_KINDS.items()}
    for kind, query in js["dcql"].items():
        assert query == requirements.default_dcql(ISSUER, kind), kind
        assert js["known"][kind] == (kind if kind in requirements.WORK_KINDS else "general")
        for credential in query["credentials"]:
            reasons = [requirements.missing_reason(credential, p) for p in PROBLEMS]
            assert js["reasons"][credential["id"]] == [{"ja": r.ja, "en": r.en} for r in reasons]
            # the wallet discloses in the query's order; the server lists the same names sorted
            assert sorted(js["revealed"][credential["id"]]) == requirements.revealed_claims(credential)
