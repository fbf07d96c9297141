"""Issue 12 item 9, investigated: "trust-list entries not scoped to the courses a body may certify".

Confirmed: a trust-list entry was a body and its keys, nothing more, so any trusted body's valid
signature made any course a verified qualification — a special-education school could certify
玉掛け技能講習 or crane operation, which only a body registered for that course may (労働安全衛生法
§77, 登録教習機関). Now each entry lists the course codes its body may certify (``genba trust add
--course``; ``genba trust import-source`` takes the courses the source publishes per body) and a
certificate for any other course is refused (``course_not_trusted``) and quarantined.

The attack: the operator loads the reference source's published bodies into the trust list of
the real server; one of them (埼玉労働安全衛生教育協会: gas welding, forklift, aerial work platform,
full harness) signs, with its own valid key, a 玉掛け技能講習 certificate for a technician beside a
forklift one. The technician then looks at his certificates over HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from joserfc.jwk import ECKey

from connectors.sources.signed_file import reader
from tests.support.http_user import Credentials, HttpUser
from tests.support.server import LiveServer, SourceServer, run_genba, running_source

BODY = "jp.saitama-rodo-anzen"  # tools/reference_source/catalog.py: not a 玉掛け school
IAT = 1_793_500_000  # 2026-10-31, after the body's key became valid


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SourceServer]:
    with running_source(tmp_path_factory.mktemp("item9-source") / "data") as running:
        yield running


def _row(technician_id: str, record_id: str, number: str, code: str, kind: str, name: str) -> dict[str, str]:
    return {
        "record_id": record_id,
        "certificate_number": number,
        "course_kind": kind,
        "course_code": code,
        "course_name": name,
        "completed_on": "2021-06-10",
        "holder_name": "山本 太郎",
        "holder_kana": "ヤマモト タロウ",
        "holder_birth_date": "1985-04-12",
        "technician_id": technician_id,
        "status": "valid",
        "supersedes": "",
    }


def test_a_trusted_body_cannot_certify_a_course_it_does_not_teach(
    server: LiveServer,
    source: SourceServer,
    technician: Callable[..., Credentials],
    users: Callable[..., HttpUser],
    tmp_path: Path,
) -> None:
    # the operator trusts what the source publishes (the source listens on 127.0.0.1: the CLI call
    # alone gets the development setting of the outbound policy)
    env = server.env | {"GENBA_OUTBOUND_ALLOW_PRIVATE": "true"}
    run_genba(env, server.tmp, "trust", "import-source", source.base_url, "--json")

    who = technician()
    rows = [
        _row(who.username, "S9-1", "第21-9001号", "tamakake", "技能講習", "玉掛け技能講習"),
        _row(who.username, "S9-2", "第21-9002号", "forklift", "技能講習", "フォークリフト運転技能講習"),
    ]
    content = json.dumps(rows, ensure_ascii=False).encode()
    key = ECKey.import_key(json.loads((source.data_dir / "keys" / f"{BODY}.json").read_text())["jwk"])
    (tmp_path / "records.json").write_bytes(content)
    (tmp_path / "records.jws").write_text(reader.sign(content, key, kid=key.thumbprint(), iat=IAT))
    result = run_genba(
        server.env,
        server.tmp,
        "connectors",
        "import",
        "signed-file",
        "--file",
        str(tmp_path / "records.json"),
        "--signature",
        str(tmp_path / "records.jws"),
        "--json",
    )
    assert "course_not_trusted" in result.stdout, result.stdout

    page = users(server, who).sign_in().get("/certificates")
    assert page.status_code == 200
    assert "フォークリフト運転技能講習" in page.text  # the body's own course is imported
    assert "玉掛け技能講習" not in page.text  # the course it may not certify is not
