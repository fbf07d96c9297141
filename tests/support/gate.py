"""Helpers for the site-gate browser tests: a site with its prime contractor and one subcontractor, a
technician assigned to it (record, employer, face photo, imported certificates), the prime's gate
staff, and a credential offer for the technician's wallet — all made with the real ``genba`` CLI,
the certificates written into the server's database as the connectors would.

Also: a Motion-JPEG file for Chromium's fake camera (``--use-file-for-fake-video-capture``), made of
JPEG screenshots laid end to end (Chromium's MJPEG reader takes concatenated JPEG frames), and a QR
code reader that works on the pixels of a screenshot (the vendored jsQR, in a blank page).
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from playwright.sync_api import Page
from sqlmodel import Session

from tests.support.certificates import add_imported
from tests.support.server import LiveServer

#: course code, course name (as wallet.gate.requirements.COURSES names them), training body, completed on
TAMAKAKE = ("tamakake", "玉掛け技能講習", "東京技能講習センター", date(2021, 5, 10))
KOGATA_CRANE = ("kogata-idoshiki-crane", "小型移動式クレーン運転技能講習", "東京技能講習センター", date(2021, 6, 1))
JSQR = Path(__file__).resolve().parents[2] / "wallet" / "static" / "vendor" / "jsQR.js"

_numbers = itertools.count(1)


@dataclass(frozen=True)
class Staff:
    username: str
    password: str
    totp_secret: str


@dataclass(frozen=True)
class GateWorld:
    site_id: str
    prime_id: str
    sub_id: str
    technician_id: str
    name: str
    password: str
    totp_secret: str
    staff: Staff


def png(width: int = 6, height: int = 8, rgb: tuple[int, int, int] = (200, 120, 40)) -> bytes:
    """A small valid PNG (the CLI takes JPEG or PNG face photos)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def make_world(
    server: LiveServer,
    tmp: Path,
    *,
    name: str,
    kana: str,
    courses: tuple[tuple[str, str, str, date], ...] = (TAMAKAKE, KOGATA_CRANE),
    level: int = 3,
) -> GateWorld:
    """A fresh site (its own 現場ID and companies), one technician on it with ``courses``, and gate staff."""
    n = next(_numbers) + os.getpid() % 1000 * 100
    # "38…", "58…", "68…": apart from the ids conftest.make_technician hands out (30000000000001, …)
    technician_id, prime_id, sub_id = (f"{prefix}8{n:012d}" for prefix in ("3", "5", "6"))
    site_id = f"GENBA-E2E-{n:06d}"
    photo = tmp / f"face-{n}.png"
    photo.write_bytes(png(48, 60))
    person = server.create_technician(technician_id=technician_id, name=name, kana=kana, face_photo=photo)
    server.set_record(
        technician_id=technician_id,
        values={
            "level": level,
            "occupations": ["鉄筋"],
            "health_insurance": "enrolled",
            "pension_insurance": "enrolled",
            "employment_insurance": "exempt",
        },
    )
    server.create_employer(employer_id=prime_id, trade_name="株式会社 東京ゼネコン")
    server.create_employer(employer_id=sub_id, trade_name="株式会社 山田工務店")
    server.link_affiliation(technician_id=technician_id, employer_id=sub_id, start="2020-04-01")
    today = datetime.now(UTC).date()
    server.genba(
        "admin",
        "create-site",
        "--site-id",
        site_id,
        "--name",
        "新砂物流センター新築工事",
        "--prime-employer-id",
        prime_id,
        "--starts-on",
        (today - timedelta(days=10)).isoformat(),
        "--json",
    )
    server.genba(
        "admin", "add-site-company", "--site-id", site_id, "--employer-id", sub_id, "--parent-employer-id", prime_id
    )
    server.genba(
        "admin",
        "assign",
        "--site-id",
        site_id,
        "--technician-id",
        technician_id,
        "--employer-id",
        sub_id,
        "--start",
        (today - timedelta(days=5)).isoformat(),
        "--role",
        "職長",
    )
    staff = server.create_staff(employer_id=prime_id, login=f"gate{n}", display_name="門番 太郎")
    add_certificates(server, technician_id, name, courses)
    return GateWorld(
        site_id=site_id,
        prime_id=prime_id,
        sub_id=sub_id,
        technician_id=technician_id,
        name=name,
        password=person["password"],
        totp_secret=person["totp_secret"],
        staff=Staff(staff["username"], staff["password"], staff["totp_secret"]),
    )


def add_certificates(
    server: LiveServer, technician_id: str, holder_name: str, courses: tuple[tuple[str, str, str, date], ...]
) -> None:
    """Imported 技能講習 certificates as the connectors store them (verified, status valid)."""
    now = datetime.now(UTC)
    with server.database() as engine, Session(engine) as db:
        for code, course, body, completed in courses:
            add_imported(
                db,
                technician_id=technician_id,
                issuer_id=f"e2e-body-{technician_id}",
                number=f"第{code}-{technician_id[-4:]}号",
                course_code=code,
                course_name=course,
                training_body=body,
                completed_on=completed,
                holder_name=holder_name,
                holder_birth_date=date(1985, 4, 12),
                now=now,
                signer_kid="e2e-key",
                source="signed_file",
            )
        db.commit()


def offer(server: LiveServer, technician_id: str) -> tuple[str, str]:
    """``genba credentials offer --json``: (credential_offer_uri, tx_code) for the card and certificates."""
    data = json.loads(server.genba("credentials", "offer", "--technician-id", technician_id, "--json").stdout)
    return data["offer_uri"], data["tx_code"]


def write_mjpeg(path: Path, frames: list[bytes], *, repeat: int = 1) -> None:
    """A Motion-JPEG file (JPEG frames end to end, each ``repeat`` times), replaced atomically so a camera
    that is reading the old file keeps its copy. Chromium reads the file again each time a capture starts."""
    if not frames or any(not f.startswith(b"\xff\xd8") for f in frames):
        raise ValueError("JPEG frames expected")
    partial = path.with_suffix(".partial")
    partial.write_bytes(b"".join(frame for frame in frames for _ in range(repeat)))
    partial.replace(path)


_READ_QR = """async (url) => {
  const image = new Image();
  image.src = url;
  await image.decode();
  const canvas = document.createElement("canvas");
  canvas.width = image.naturalWidth;
  canvas.height = image.naturalHeight;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(image, 0, 0);
  const pixels = context.getImageData(0, 0, canvas.width, canvas.height);
  const decode = typeof jsQR === "function" ? jsQR : jsQR.default;
  const found = decode(pixels.data, canvas.width, canvas.height, { inversionAttempts: "attemptBoth" });
  return found ? found.data : null;
}"""


class QrReader:
    """Reads a QR code from the pixels of an image (a screenshot) with the vendored jsQR, in a blank page
    of its own: nothing is taken from the page that showed the code."""

    def __init__(self, page: Page) -> None:
        self.page = page
        page.goto("about:blank")
        page.add_script_tag(path=str(JSQR))

    def read(self, image: bytes, media_type: str = "image/png") -> str | None:
        url = f"data:{media_type};base64,{base64.b64encode(image).decode()}"
        text: str | None = self.page.evaluate(_READ_QR, url)
        return text
