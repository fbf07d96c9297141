"""The provider's documents cite only what is in the repository (issue 13 item 6: "the provider's
documents live in the repository"; docs/architecture.md and docs/domain.md cite files and tests).

Every repository path written in backticks in ``docs/*.md`` and ``README.md`` must exist, and a
citation ``path::name`` must name a test, class or function defined in that file (a test id in
brackets must appear in it too), so moving or renaming a cited file or test fails here instead of
leaving the documents pointing nowhere. Relative Markdown links between documents are checked too.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest


def _repository_root() -> Path:
    """The directory with ``pyproject.toml`` above this file (wherever the test file is moved)."""
    for parent in Path(__file__).resolve().parents:
        if (parent / "pyproject.toml").is_file():
            return parent
    raise AssertionError("no pyproject.toml above the test file")


ROOT = _repository_root()

#: First path segments that make a backticked text a repository path. ``var/`` and ``.venv/`` are
#: made at run time and are not in the repository; URL paths start with "/" and are not matched.
TOP_LEVEL = frozenset(
    {
        "app", "idp", "register", "consent", "wallet", "connectors", "common", "tools", "policies",
        "tests", "docs", "docker", "bench", ".ci", "README.md", "pyproject.toml", "Makefile",
    }
)  # fmt: skip

#: Cited on purpose although not in the repository: files the operator makes when deploying.
MADE_WHEN_DEPLOYING = frozenset({"docker/.env"})  # git-ignored; docs/operations.md says how to write it

CODE_SPAN = re.compile(r"`([^`\n]+)`")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
CITATION = re.compile(r"^(?P<path>[\w.\-]+(?:/[\w.\-]+)*/?)(?:::(?P<name>[\w.]+)(?:\[(?P<id>[^\]]+)\])?)?$")
LINK = re.compile(r"\]\((?P<target>[^)\s#]+)(?:#[^)]*)?\)")
ANCHOR_LINK = re.compile(r"\]\(#(?P<anchor>[^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} (?P<title>.+)$", re.MULTILINE)


def documents() -> list[Path]:
    return [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]


def citations(text: str) -> list[re.Match[str]]:
    """Backticked texts that are repository paths, optionally ``::name`` and ``[test id]``."""
    found = []
    for span in CODE_SPAN.findall(FENCE.sub("", text)):
        match = CITATION.match(span.strip())
        if match and match["path"].split("/")[0] in TOP_LEVEL:
            found.append(match)
    return found


def anchors(text: str) -> set[str]:
    """The anchors a Markdown renderer makes for the headings (GitHub's rule: lower case, drop what
    is neither a word character, a space nor a hyphen, spaces become hyphens)."""
    return {re.sub(r"[^\w\- ]", "", m["title"].strip().lower()).replace(" ", "-") for m in HEADING.finditer(text)}


def defines(source: str, dotted: str) -> bool:
    """A Python file defines the last part of ``dotted`` (class, function, method or assignment)."""
    name = re.escape(dotted.split(".")[-1])
    pattern = rf"^\s*(?:async\s+def|def|class)\s+{name}\b|^\s*{name}\s*(?::[^=\n]*)?="
    return re.search(pattern, source, re.MULTILINE) is not None


def problems(document: Path, root: Path = ROOT) -> list[str]:
    text = document.read_text(encoding="utf-8")
    found = []
    for match in citations(text):
        path = root / match["path"]
        if match["path"] in MADE_WHEN_DEPLOYING:
            continue
        if not path.exists():
            found.append(f"{match['path']}: no such file or directory")
            continue
        if match["name"] is None:
            continue
        source = path.read_text(encoding="utf-8")
        named = defines(source, match["name"]) if path.suffix == ".py" else match["name"] in source
        if not named:
            found.append(f"{match['path']}::{match['name']}: not defined in that file")
        elif match["id"] is not None and match["id"] not in source:
            found.append(f"{match['path']}::{match['name']}[{match['id']}]: no such case id in that file")
    for link in LINK.finditer(FENCE.sub("", text)):
        target = link["target"]
        if "://" in target or target.startswith("mailto:"):
            continue
        if not (document.parent / target).exists():
            found.append(f"link ({target}): no such file")
    known = anchors(FENCE.sub("", text))
    for link in ANCHOR_LINK.finditer(text):
        if link["anchor"] not in known:
            found.append(f"link (#{link['anchor']}): no such heading")
    return found


@pytest.mark.parametrize("document", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_cited_file_and_test_exists(document: Path) -> None:
    """Issue 13 item 6: every repository path and ``path::name`` a document cites exists."""
    assert problems(document) == []


def test_the_architecture_cites_a_file_and_a_test_for_every_clause() -> None:
    """Issue 13 item 6: docs/architecture.md is read with this check, so it must cite through it."""
    cited = citations((ROOT / "docs" / "architecture.md").read_text(encoding="utf-8"))
    assert any(m["path"].startswith("tests/") and m["name"] for m in cited)
    assert any(m["path"].startswith(("idp/", "wallet/", "consent/")) for m in cited)


def test_a_missing_file_or_test_is_reported(tmp_path: Path) -> None:
    """The check itself can fail: a moved file, an unknown test or case id, a link to a missing file
    and one to a missing heading are each named; a URL path and a run-time directory are not taken
    for repository paths."""
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text(
        '@pytest.mark.parametrize("case", ["known-id"])\ndef test_real(case):\n    pass\n', encoding="utf-8"
    )
    document = tmp_path / "doc.md"
    document.write_text(
        "`tests/test_x.py::test_real`, `tests/test_x.py::test_real[known-id]`, `idp/no_such_module.py`, "
        "`tests/test_x.py::test_gone`, `tests/test_x.py::test_real[unknown-id]`, "
        "`/api/v1/sites` (a URL path), `var/` (made at run time), [gone](gone.md), [here](#the-rules), "
        "[nowhere](#no-such-heading)\n\n## The rules\n",
        encoding="utf-8",
    )
    assert problems(document, root=tmp_path) == [
        "idp/no_such_module.py: no such file or directory",
        "tests/test_x.py::test_gone: not defined in that file",
        "tests/test_x.py::test_real[unknown-id]: no such case id in that file",
        "link (gone.md): no such file",
        "link (#no-such-heading): no such heading",
    ]
