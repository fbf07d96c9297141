"""The offline gate profile (docs/offline-gate.md §2-4) checked with no network: a synced bundle
(``wallet.gate.offline.bundle``), the wallet's answer as QR frames (``codec.encode_presentation``) and
``offline_check.verify_offline``. Green for the right presentation, in one frame or several shown in any
order; red with the reason, never an exception, for truncated or garbage QR codes, a gate clock far
off, an old challenge, another site, a replay, and a status list older than ttl + grace."""

from __future__ import annotations

import base64
import json
import random
import zlib
from datetime import timedelta
from typing import Any

import pytest
import segno
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.wallet.gate.conftest import OfflineKit
from tests.support.gate_world import NAME, OTHER_SITE, TECHNICIAN, challenge, offline_frames, untrusted_copy
from wallet.gate.check import GateResult, event_key
from wallet.gate.codec import QR_MAX, CodecError, decode_presentation, encode_presentation
from wallet.gate.offline_check import verify_offline

UNREADABLE_JA = "QRコードを読み取れませんでした"


def verify(
    kit: OfflineKit, frames: list[str], c: Any, *, bundle: dict[str, Any] | None = None, **kw: Any
) -> GateResult:
    now = kw.pop("now", kit.now)
    return verify_offline(frames, c, bundle or kit.bundle, now=now, direction=kw.pop("direction", "in"))


def red(result: GateResult, code: str, ja: str | None = None) -> None:
    assert result.ok is False, result
    assert result.reasons and result.reasons[0]["code"] == code, result.reasons
    assert result.reasons[0]["ja"] and result.reasons[0]["en"]
    if ja is not None:
        assert ja in result.reasons[0]["ja"], result.reasons
    assert result.event_key is None


def test_bundle_has_what_the_profile_lists(kit: OfflineKit) -> None:
    """§1: pinned root, issuer public keys (no private parts), every status list, requirements, roster,
    audience, generated_at."""
    b = kit.bundle
    assert b["site_id"] == "GENBA-T-0001" and b["audience"] == "genba-gate:GENBA-T-0001:north"
    assert b["generated_at"] == int(kit.now.timestamp())
    assert b["root_pem"].startswith("-----BEGIN CERTIFICATE-----")
    assert b["issuer_keys"] and all("d" not in k and k.get("kid") for k in b["issuer_keys"])
    uri = kit.world.card.claims["status"]["status_list"]["uri"]
    assert uri in b["status_lists"]
    assert {"general", "crane"} <= set(b["requirements"])
    assert json.dumps(b)  # plain JSON, as the gate page stores it


@pytest.mark.parametrize("work_kind", ["general", "crane"])
def test_the_right_presentation_is_green(kit: OfflineKit, work_kind: str) -> None:
    c = challenge(kit.now, work_kind=work_kind)
    frames = offline_frames(kit.world, kit.bundle, c, iat=int(kit.now.timestamp()))
    assert all(f.startswith("GP1") and len(f) <= QR_MAX for f in frames)
    result = verify(kit, frames, c)
    assert result.ok, result.reasons
    assert (result.technician_id, result.name, result.level) == (TECHNICIAN, NAME, 3)
    assert result.level_colour == {"ja": "銀", "en": "silver"}
    assert result.event_key == event_key(c.site_id, c.gate_id, TECHNICIAN, "in", c.nonce)


def test_the_presentation_reveals_only_what_the_requirement_names(kit: OfflineKit) -> None:
    """§3: only the disclosures the query names; the face photo is never sent."""
    c = challenge(kit.now, work_kind="crane")
    nonce, vp = decode_presentation(offline_frames(kit.world, kit.bundle, c, iat=int(kit.now.timestamp())))
    assert nonce == c.nonce
    card = vp["ccus_card"][0]
    disclosed = {json.loads(base64.urlsafe_b64decode(d + "=="))[1] for d in card.split("~")[1:-1]}
    assert disclosed == {"technician_id", "name", "level", "level_colour", "social_insurance"}
    assert "face_photo" not in json.dumps(vp) and "name_kana" not in disclosed


def test_animated_frames_reassemble_in_any_order(kit: OfflineKit) -> None:
    """§3: frames ``GP1/<i>/<n>:`` shown in turn, read in any order, repeats ignored."""
    c = challenge(kit.now, work_kind="crane")
    frames = offline_frames(kit.world, kit.bundle, c, iat=int(kit.now.timestamp()), max_frame=300)
    assert len(frames) >= 4 and all(len(f) <= 300 for f in frames)
    assert [f.split(":", 1)[0] for f in frames] == [f"GP1/{i}/{len(frames)}" for i in range(1, len(frames) + 1)]
    rng = random.Random(7)
    for _ in range(5):
        shown = frames + rng.sample(frames, 2)  # a reader sees some frames twice
        rng.shuffle(shown)
        result = verify(kit, shown, c)
        assert result.ok, result.reasons


def _frames_of(body: Any) -> list[str]:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = packer.compress(json.dumps(body).encode()) + packer.flush()
    return ["GP1:" + base64.urlsafe_b64encode(data).rstrip(b"=").decode()]


def _garbage(kit: OfflineKit, c: Any) -> dict[str, list[str]]:
    frames = offline_frames(kit.world, kit.bundle, c, iat=int(kit.now.timestamp()), max_frame=300)
    [single] = offline_frames(kit.world, kit.bundle, c, iat=int(kit.now.timestamp()), max_frame=100_000)
    return {
        "no frames": [],
        "empty line": [""],
        "prefix only": ["GP1:"],
        "not base64": ["GP1:!!!!$$$$"],
        "a URL": ["https://example.com/"],
        "the challenge itself": ["GC1:eyJ2IjoxfQ"],
        "truncated (half the QR)": [single[: len(single) // 2]],
        "truncated by one character": [single[:-1]],
        "one frame missing": frames[:-1],
        "one frame truncated": [*frames[:-1], frames[-1][: len(frames[-1]) // 2]],
        "frames of two sizes": [frames[0], "GP1/2/9:abc"],
        "frame 0 of 0": ["GP1/0/0:abc"],
        "letters for numbers": ["GP1/a/b:abc"],
        "too many parts": ["GP1/1/2/3:abc"],
        "not deflate": ["GP1:" + base64.urlsafe_b64encode(b"plain text, not deflate").decode()],
        "a JSON list": _frames_of([1, 2]),
        "vp not an object": _frames_of({"n": "x", "vp": "abc"}),
        "no nonce": _frames_of({"vp": {}}),
    }


GARBAGE_NAMES = [
    "no frames",
    "empty line",
    "prefix only",
    "not base64",
    "a URL",
    "the challenge itself",
    "truncated (half the QR)",
    "truncated by one character",
    "one frame missing",
    "one frame truncated",
    "frames of two sizes",
    "frame 0 of 0",
    "letters for numbers",
    "too many parts",
    "not deflate",
    "a JSON list",
    "vp not an object",
    "no nonce",
]


@pytest.mark.parametrize("name", GARBAGE_NAMES)
def test_truncated_or_garbage_qr_is_red_unreadable(kit: OfflineKit, name: str) -> None:
    c = challenge(kit.now)
    frames = _garbage(kit, c)[name]
    red(verify(kit, frames, c), "unreadable", UNREADABLE_JA)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.one_of(
            st.text(max_size=60),
            st.builds(
                lambda i, n, t: f"GP1/{i}/{n}:{t}", st.integers(-3, 40), st.integers(-3, 40), st.text(max_size=30)
            ),
            st.builds(lambda t: "GP1:" + t, st.text(alphabet="ABCDEFabcdef0123456789-_=", max_size=80)),
        ),
        max_size=5,
    )
)
def test_no_frames_crash_the_gate_or_turn_it_green(kit: OfflineKit, frames: list[str]) -> None:
    c = challenge(kit.now)
    result = verify(kit, frames, c)
    assert result.ok is False and result.reasons and result.event_key is None


def test_a_frame_claiming_a_huge_count_is_red_not_a_crash(kit: OfflineKit) -> None:
    c = challenge(kit.now)
    red(verify(kit, ["GP1/1/1000000000000000:abc"], c), "unreadable", UNREADABLE_JA)


def test_a_presentation_that_inflates_beyond_two_megabytes_is_refused(kit: OfflineKit) -> None:
    frames = encode_presentation("x", {"ccus_card": [" " * 10_000_000]})
    assert len(frames) <= 8
    with pytest.raises(CodecError):
        decode_presentation(frames)


def test_a_gate_clock_far_off_is_red(kit: OfflineKit) -> None:
    """§4.1: the gate's clock must be within the bundle's validity (or the bundle is from the future)."""
    c = challenge(kit.now)
    frames = offline_frames(kit.world, kit.bundle, c, iat=int(kit.now.timestamp()))
    for shift in (timedelta(days=3), timedelta(hours=-1), timedelta(days=-400), timedelta(days=3650)):
        bundle = dict(kit.bundle, generated_at=int((kit.now - shift).timestamp()))
        red(verify(kit, frames, c, bundle=bundle), "gate_clock", "ゲートの時計")
    # the same frames with the bundle as synced: green (the control)
    assert verify(kit, frames, c).ok


def test_an_old_challenge_is_red(kit: OfflineKit) -> None:
    """§4.1: not older than 5 minutes."""
    c = challenge(kit.now - timedelta(minutes=6))
    frames = offline_frames(kit.world, kit.bundle, c, iat=int(kit.now.timestamp()))
    red(verify(kit, frames, c), "challenge_expired", "有効期限")


def test_a_challenge_for_another_site_is_red(kit: OfflineKit) -> None:
    c = challenge(kit.now, site_id=OTHER_SITE)
    frames = offline_frames(kit.world, kit.bundle, c, iat=int(kit.now.timestamp()))
    red(verify(kit, frames, c), "wrong_site", "この現場")


def test_a_presentation_made_for_another_sites_gate_is_red(kit: OfflineKit) -> None:
    """Right nonce, but key binding ``aud`` of another site's gate."""
    c = challenge(kit.now)
    elsewhere = challenge(kit.now, site_id=OTHER_SITE, nonce=c.nonce)
    frames = offline_frames(kit.world, kit.bundle, elsewhere, iat=int(kit.now.timestamp()))
    red(verify(kit, frames, c), "invalid_kb_aud", "提示した本人の確認に失敗しました")


def test_a_replayed_presentation_is_red(kit: OfflineKit) -> None:
    """The frames that answered one challenge, shown again to the next one (new nonce)."""
    first = challenge(kit.now)
    frames = offline_frames(kit.world, kit.bundle, first, iat=int(kit.now.timestamp()))
    assert verify(kit, frames, first).ok
    second = challenge(kit.now + timedelta(seconds=20))
    red(verify(kit, frames, second, now=kit.now + timedelta(seconds=20)), "invalid_kb_nonce", "再提示")


def test_a_wrong_nonce_inside_the_key_binding_is_red(kit: OfflineKit) -> None:
    """The payload says the challenge's nonce, the KB-JWT was signed for another one."""
    c = challenge(kit.now)
    other = challenge(kit.now, nonce="BBBBBBBBBBBBBBBBBBBBBB")
    token = decode_presentation(offline_frames(kit.world, kit.bundle, other, iat=int(kit.now.timestamp())))[1]
    red(verify(kit, encode_presentation(c.nonce, token), c), "invalid_kb_nonce")


def test_crane_work_without_tamakake_is_red_offline(kit: OfflineKit) -> None:
    c = challenge(kit.now, work_kind="crane")
    frames = offline_frames(kit.world, kit.bundle, c, iat=int(kit.now.timestamp()), swap={"course_tamakake": None})
    red(verify(kit, frames, c), "missing_credential", "玉掛け技能講習の修了証がありません")


def test_an_untrusted_issuer_is_red_offline(kit: OfflineKit) -> None:
    c = challenge(kit.now)
    forged = untrusted_copy(kit.world.card, kit.now)
    frames = offline_frames(kit.world, kit.bundle, c, iat=int(kit.now.timestamp()), swap={"ccus_card": forged})
    result = verify(kit, frames, c)
    assert result.ok is False and result.reasons and result.event_key is None


def test_a_status_list_older_than_ttl_plus_grace_fails_closed(kit: OfflineKit) -> None:
    """§1: ttl (5 min) + grace (12 h) after the sync the gate turns red and says to sync."""
    for age, ok in ((timedelta(hours=12), True), (timedelta(hours=12, minutes=6), False)):
        now = kit.now + age
        c = challenge(now)
        frames = offline_frames(kit.world, kit.bundle, c, iat=int(now.timestamp()))
        result = verify(kit, frames, c, now=now)
        if ok:
            assert result.ok, result.reasons
        else:
            red(result, "status_list_stale", "同期してください")
            assert "sync the gate" in result.reasons[0]["en"]


def test_a_status_list_missing_from_the_bundle_fails_closed(kit: OfflineKit) -> None:
    c = challenge(kit.now)
    frames = offline_frames(kit.world, kit.bundle, c, iat=int(kit.now.timestamp()))
    red(verify(kit, frames, c, bundle=dict(kit.bundle, status_lists={})), "status_unavailable", "同期してください")


def test_an_expired_credential_is_red_offline(kit: OfflineKit) -> None:
    """A day past the card's exp, with a bundle synced that day."""
    later = kit.now.fromtimestamp(int(kit.world.card.claims["exp"]) + 24 * 3600, tz=kit.now.tzinfo)
    bundle = kit.fresh_bundle(later)
    c = challenge(later)
    frames = offline_frames(kit.world, bundle, c, iat=int(later.timestamp()))
    result = verify(kit, frames, c, bundle=bundle, now=later)
    assert result.ok is False and result.reasons and result.event_key is None


def test_every_frame_of_the_default_presentations_fits_a_qr_code(kit: OfflineKit) -> None:
    """§3: each frame fits one QR code (version 40 or smaller, byte mode, level L: 2,953 bytes); the card
    alone takes one or two frames, crane work (card + 玉掛け + 小型移動式クレーン) two or three
    (``python -m bench gate`` reports the sizes)."""
    for kind, most in (("general", 2), ("crane", 3)):
        c = challenge(kit.now, work_kind=kind)
        frames = offline_frames(kit.world, kit.bundle, c, iat=int(kit.now.timestamp()))
        assert 1 <= len(frames) <= most, (kind, [len(f) for f in frames])
        for frame in frames:
            assert len(frame.encode()) <= 2953 and segno.make_qr(frame, error="l", mode="byte").version <= 40
