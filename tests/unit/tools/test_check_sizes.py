"""The size limits of issue 13 ("a house the next engineers can live in"): no production module
over 400 lines, no function over 60 lines without a `# long: <reason>` comment, no first-party
JavaScript file over 400 lines — checked by tools/check_sizes.py in `make lint`."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tools import check_sizes


def _function(name: str, body_lines: int, *, above: str = "", opening: str = "", decorators: int = 0) -> str:
    """A function of exactly 1 + decorators + body_lines lines (before the `above` comment)."""
    text = above
    text += "@staticmethod\n" * decorators
    text += f"def {name}() -> None:\n"
    text += opening
    text += "    x = 1\n" * (body_lines - opening.count("\n"))
    return text


def test_a_module_of_400_lines_passes_and_401_fails() -> None:
    """Issue 13: no production module over 400 lines."""
    assert check_sizes.check_python(Path("m.py"), "x = 1\n" * 400) == []
    offences = check_sizes.check_python(Path("m.py"), "x = 1\n" * 401)
    assert offences == [
        "m.py: module is 401 lines (limit 400); split it along what it implements",
    ]


def test_a_function_of_60_lines_passes_and_61_fails() -> None:
    """Issue 13: no function over 60 lines (def line to last line, both included)."""
    assert check_sizes.check_python(Path("m.py"), _function("fits", 59)) == []
    offences = check_sizes.check_python(Path("m.py"), "\n" + _function("too_long", 60))
    assert len(offences) == 1
    assert offences[0].startswith("m.py:2: function too_long is 61 lines (limit 60)")


def test_decorators_count_in_the_length_of_a_function() -> None:
    """The length runs from the first decorator: what a reader scrolls through."""
    source = "class C:\n" + textwrap.indent(_function("method", 58, decorators=2), "    ")
    offences = check_sizes.check_python(Path("m.py"), source)
    assert len(offences) == 1
    assert "function method is 61 lines" in offences[0]


def test_nested_and_async_functions_are_checked_on_their_own() -> None:
    """Every def and async def counts, methods and nested functions included."""
    inner = textwrap.indent(_function("inner", 61).replace("def ", "async def "), "    ")
    source = "def outer() -> None:\n" + inner
    names = [offence.split("function ")[1].split(" ")[0] for offence in check_sizes.check_python(Path("m.py"), source)]
    assert sorted(names) == ["inner", "outer"]


@pytest.mark.parametrize(
    ("above", "opening"),
    [
        ("# long: the checks of RFC 9449 section 4.3 in the order the RFC lists them\n", ""),
        ("# long: one linear protocol check\n# (it reads best top to bottom)\n", ""),
        ("", "    # long: one linear protocol check\n"),
        ("", '    """A docstring."""\n    # long: one linear protocol check\n'),
    ],
    ids=["comment-above", "comment-block-above", "first-line-of-body", "after-docstring"],
)
def test_a_long_function_with_a_reason_passes(above: str, opening: str) -> None:
    """Issue 13: a function over 60 lines passes when a `# long: <reason>` comment says why."""
    assert check_sizes.check_python(Path("m.py"), _function("long_one", 80, above=above, opening=opening)) == []


@pytest.mark.parametrize(
    ("above", "opening"),
    [
        ("# long:\n", ""),
        ("# long: reason\n\n", ""),
        ("", "    x = 0  # long: not a comment line of its own\n"),
        ("", "    x = 0\n    # long: too late, after a statement\n"),
        ("", "    # this is long because ...\n"),
    ],
    ids=["no-reason", "separated-by-a-blank-line", "trailing-comment", "after-a-statement", "no-marker"],
)
def test_a_long_function_without_a_proper_reason_fails(above: str, opening: str) -> None:
    """The marker needs a reason, and it must be where a reader of the function sees it first."""
    offences = check_sizes.check_python(Path("m.py"), _function("long_one", 80, above=above, opening=opening))
    assert len(offences) == 1
    assert "function long_one" in offences[0]


def test_a_javascript_file_over_400_lines_fails() -> None:
    """Issue 13: no JS file over 400 lines."""
    assert check_sizes.check_js(Path("a.js"), "x();\n" * 400) == []
    assert check_sizes.check_js(Path("a.js"), "x();\n" * 401) == [
        "a.js: JavaScript file is 401 lines (limit 400); split it into modules"
    ]


def _tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_the_tree_check_covers_production_packages_only(tmp_path: Path) -> None:
    """Production packages are checked; tests, tools and generated migrations are not."""
    long = "x = 1\n" * 401
    _tree(
        tmp_path,
        {
            "consent/service.py": long,
            "app/migrations/versions/0001_initial.py": long,
            "tests/test_big.py": long,
            "tools/big.py": long,
        },
    )
    offences = check_sizes.check_tree(tmp_path, js=False)
    assert offences == ["consent/service.py: module is 401 lines (limit 400); split it along what it implements"]


def test_the_tree_check_covers_first_party_javascript_only_with_js(tmp_path: Path) -> None:
    """JavaScript is checked with --js; third-party files under vendor/ are not."""
    long = "x();\n" * 401
    _tree(
        tmp_path,
        {
            "wallet/static/app.js": long,
            "idp/web/static/passkey.js": "x();\n",
            "wallet/static/vendor/jsQR.js": long,
        },
    )
    assert check_sizes.check_tree(tmp_path, js=False) == []
    assert check_sizes.check_tree(tmp_path, js=True) == [
        "wallet/static/app.js: JavaScript file is 401 lines (limit 400); split it into modules"
    ]


def test_main_exits_1_on_an_offence_and_0_on_none(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`make lint` fails when a limit is exceeded."""
    _tree(tmp_path, {"common/ok.py": "x = 1\n"})
    assert check_sizes.main(["--root", str(tmp_path)]) == 0
    _tree(tmp_path, {"wallet/static/app.js": "x();\n" * 401})
    assert check_sizes.main(["--root", str(tmp_path)]) == 0
    assert check_sizes.main(["--root", str(tmp_path), "--js"]) == 1
    assert "wallet/static/app.js" in capsys.readouterr().out
