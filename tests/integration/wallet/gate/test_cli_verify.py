"""``genba gate verify --challenge GC1... --bundle F`` (card-reader integrations): GP1 frames on stdin,
one per line, the result as JSON on stdout; exit 0 for green and 1 for red."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from tests.integration.wallet.gate.conftest import OfflineKit
from tests.support.gate_world import NAME, TECHNICIAN, challenge, challenge_text, offline_frames
from tests.support.server import cli_env


@pytest.fixture
def bundle_file(kit: OfflineKit, tmp_path: Path) -> Path:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(kit.bundle, ensure_ascii=False))
    return path


@pytest.fixture
def frozen_cli(kit: OfflineKit, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The command reads the system clock; here it reads the kit's frozen one."""
    monkeypatch.setattr("app.cli.gate.system_clock", kit.clock)
    return CliRunner()


def run(runner: CliRunner, challenge_arg: str, bundle: Path, frames: list[str], *extra: str) -> tuple[int, str]:
    result = runner.invoke(
        cli, ["gate", "verify", "--challenge", challenge_arg, "--bundle", str(bundle), *extra], input="\n".join(frames)
    )
    return result.exit_code, result.stdout


def test_green_exits_zero_with_the_result(kit: OfflineKit, bundle_file: Path, frozen_cli: CliRunner) -> None:
    c = challenge(kit.now, work_kind="crane")
    frames = offline_frames(kit.world, kit.bundle, c, iat=int(kit.now.timestamp()), max_frame=700)
    assert len(frames) > 1  # an animated QR read frame by frame, in reverse order
    code, out = run(frozen_cli, challenge_text(c), bundle_file, list(reversed(frames)), "--direction", "out")
    assert code == 0, out
    body = json.loads(out.strip().splitlines()[-1])
    assert body == {"ok": True, "reasons": [], "technician_id": TECHNICIAN, "name": NAME, "level": 3}


@pytest.mark.parametrize("case", ["wrong nonce", "garbage", "no frames", "old challenge", "missing 玉掛け"])
def test_red_exits_one_with_the_reason(kit: OfflineKit, bundle_file: Path, frozen_cli: CliRunner, case: str) -> None:
    iat = int(kit.now.timestamp())
    c = challenge(kit.now, work_kind="crane" if case == "missing 玉掛け" else "general")
    frames = offline_frames(kit.world, kit.bundle, c, iat=iat)
    expected = "invalid_kb_nonce"
    if case == "wrong nonce":
        c = challenge(kit.now)
    elif case == "garbage":
        frames, expected = ["GP1:garbage", "GP1/1/2:x"], "unreadable"
    elif case == "no frames":
        frames, expected = [], "unreadable"
    elif case == "old challenge":
        c, expected = challenge(datetime.fromtimestamp(iat - 3600, tz=kit.now.tzinfo)), "challenge_expired"
    else:
        frames = offline_frames(kit.world, kit.bundle, c, iat=iat, swap={"course_tamakake": None})
        expected = "missing_credential"
    code, out = run(frozen_cli, challenge_text(c), bundle_file, frames)
    assert code == 1, out
    body = json.loads(out.strip().splitlines()[-1])
    assert body["ok"] is False and body["reasons"][0]["code"] == expected, body
    if case == "missing 玉掛け":
        assert body["reasons"][0]["ja"] == "玉掛け技能講習の修了証がありません"


def test_a_bundle_with_a_clock_far_off_is_red(kit: OfflineKit, tmp_path: Path, frozen_cli: CliRunner) -> None:
    c = challenge(kit.now)
    frames = offline_frames(kit.world, kit.bundle, c, iat=int(kit.now.timestamp()))
    for days in (-3, 3):
        path = tmp_path / f"bundle{days}.json"
        path.write_text(json.dumps(dict(kit.bundle, generated_at=int(kit.now.timestamp()) + days * 86400)))
        code, out = run(frozen_cli, challenge_text(c), path, frames)
        assert code == 1 and json.loads(out.strip().splitlines()[-1])["reasons"][0]["code"] == "gate_clock", out


def test_an_unreadable_challenge_or_bundle_is_an_error_not_green(
    kit: OfflineKit, bundle_file: Path, tmp_path: Path, frozen_cli: CliRunner
) -> None:
    c = challenge(kit.now)
    frames = offline_frames(kit.world, kit.bundle, c, iat=int(kit.now.timestamp()))
    code, out = run(frozen_cli, "GC1:???", bundle_file, frames)
    assert code not in (0, None), out
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    code, out = run(frozen_cli, challenge_text(c), broken, frames)
    assert code not in (0, None), out


def test_the_installed_genba_command_has_gate(kit: OfflineKit, bundle_file: Path, tmp_path: Path) -> None:
    """The real console script, as a card reader would run it (system clock: the kit's is the real time)."""
    now = datetime.now(kit.now.tzinfo)
    bundle = kit.fresh_bundle(now)
    bundle_file.write_text(json.dumps(bundle))
    c = challenge(now)
    frames = offline_frames(kit.world, bundle, c, iat=int(now.timestamp()))
    genba = str(Path(sys.executable).parent / "genba")
    env = cli_env(f"sqlite:///{tmp_path / 'unused.sqlite3'}", tmp_path)
    done = subprocess.run(
        [genba, "gate", "verify", "--challenge", challenge_text(c), "--bundle", str(bundle_file)],
        input="\n".join(frames),
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:] + done.stdout[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1])["ok"] is True
