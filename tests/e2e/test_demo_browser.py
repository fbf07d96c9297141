"""``genba demo`` (what ``make demo`` runs) brings up everything its printed walkthrough uses (issue 15,
Broken 2): the reference certificate source on its own port, trusted and connected, so that
「マイナポータルから資格を取り込む」 imports certificates instead of ending on ERR_CONNECTION_REFUSED; and
``--port`` moves the issuer with it (``--port 8603`` used to print and issue for :8000).

One real ``genba demo`` process in a fresh directory with no ``GENBA_*`` settings (as on a fresh machine),
on a socket bound here (``--fd``: the first request waits in the backlog while the demo migrates, loads
and starts its source; nothing polls), and headless Chromium following the walkthrough.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pyotp
import pytest
from playwright.sync_api import Page, expect

from tests.support.server import CLI_TIMEOUT_SECONDS, READY_TIMEOUT_SECONDS, STOP_TIMEOUT_SECONDS

pytestmark = pytest.mark.e2e

#: 鈴木 一郎's good records at the source (tools/reference_source/seed.py), the crane and harness ones
#: included: certificate number -> course.
CRANE_AND_HEIGHT = {
    "第13-0412号": "玉掛け技能講習",
    "第27-1185号": "小型移動式クレーン運転技能講習",
    "第11-5078号": "フルハーネス型墜落制止用器具特別教育",
}
IMPORTED = 8


@dataclass
class Demo:
    base_url: str
    port: int
    source_url: str
    printed: str
    process: subprocess.Popen[bytes]


def _free_port() -> int:
    """A port free now, for the demo's source (the demo binds it itself)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    genba = str(Path(sys.executable).parent / "genba")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GENBA_")} | {"PYTHONUNBUFFERED": "1"}
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port, source_port = sock.getsockname()[1], _free_port()
    out, log = tmp_path / "demo.out", tmp_path / "demo.log"
    try:
        with out.open("wb") as stdout, log.open("wb") as stderr:
            command = [genba, "demo", "--port", str(port), "--source-port", str(source_port)]
            command += ["--fd", str(sock.fileno())]
            process = subprocess.Popen(
                command, cwd=tmp_path, env=env, stdout=stdout, stderr=stderr, pass_fds=(sock.fileno(),)
            )
    finally:
        sock.close()
    base_url = f"http://localhost:{port}"
    try:
        discovery = httpx.get(base_url + "/.well-known/openid-configuration", timeout=READY_TIMEOUT_SECONDS * 2)
        assert discovery.status_code == 200, discovery.text
        printed = out.read_text(encoding="utf-8")
        yield Demo(base_url, port, f"http://127.0.0.1:{source_port}", printed, process)
    except BaseException:
        sys.stderr.write(out.read_text(errors="replace") + log.read_text(errors="replace")[-6000:])
        raise
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT_SECONDS + CLI_TIMEOUT_SECONDS / 10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _secret_of(printed: str, username: str) -> str:
    found = re.search(rf"username: {username}\n\s+password: (\S+)\n\s+TOTP secret[^:]*: ([A-Z2-7]+)", printed)
    assert found, printed
    return found.group(2)


def test_the_demo_follows_its_port_and_imports_certificates_from_its_source(page: Page, demo: Demo) -> None:
    """Issue 15 Broken 2: with no settings, ``genba demo --port P`` is the issuer ``http://localhost:P``
    (OIDC Discovery §3, OpenID4VCI §12.2.4 metadata and the printed sign-in link), and the walkthrough's
    certificate import runs end to end in Chromium against the demo's own source on its own port; when the
    demo stops, its source stops with it."""
    configuration = httpx.get(demo.base_url + "/.well-known/openid-configuration").json()
    assert configuration["issuer"] == demo.base_url
    assert configuration["authorization_endpoint"] == demo.base_url + "/authorize"
    vci = httpx.get(demo.base_url + "/.well-known/openid-credential-issuer").json()
    assert vci["credential_issuer"] == demo.base_url
    assert f"{demo.base_url}/login" in demo.printed and ":8000" not in demo.printed
    assert demo.source_url in demo.printed
    totp = _secret_of(demo.printed, "10000000000019")

    page.goto(demo.base_url + "/login")
    page.locator("input[name=username]").fill("10000000000019")
    page.locator("input[name=password]").fill("genba-demo-2026")
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_url(demo.base_url + "/login/otp")
    page.locator("input[name=otp]").fill(pyotp.TOTP(totp).now())
    page.locator("form[action='/login/otp'] button[type=submit]").click()
    page.wait_for_url(demo.base_url + "/account")

    page.goto(demo.base_url + "/certificates")
    page.locator("#import-mynaportal").click()
    page.wait_for_url(re.compile(re.escape(demo.source_url + "/authorize?") + ".*"))
    page.reload()  # as tests/e2e/test_import_browser.py: a fresh navigation at the source
    page.locator("#login").fill("suzuki")
    page.locator("#pin").fill("1234")
    page.locator("form[action='/authorize/login'] button[type=submit]").click()
    page.wait_for_url(demo.source_url + "/authorize/consent")
    page.reload()
    expect(page.locator("main")).to_contain_text("鈴木 一郎 様")
    page.locator("button[name=decision][value=approve]").click()

    page.wait_for_url(re.compile(re.escape(demo.base_url + "/certificates/import/callback?") + ".*"))
    expect(page.locator("h1")).to_have_text("取り込み結果")
    expect(page.locator("#imported li")).to_have_count(IMPORTED)
    for number, course in CRANE_AND_HEIGHT.items():
        expect(page.locator(f"#imported li[data-number='{number}']")).to_have_text(f"{course} · {number}")

    demo.process.terminate()
    assert demo.process.wait(timeout=STOP_TIMEOUT_SECONDS * 2) == 0
    with pytest.raises(httpx.ConnectError):
        httpx.get(demo.source_url + "/api/v1/bodies", timeout=5)
