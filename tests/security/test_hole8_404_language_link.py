"""Issue 12 item 8: the 404 page rendered its language link from the request path, so
``GET //evil.example/x`` gave a page whose 「English」 link was ``//evil.example/x?lang=en`` — a
protocol-relative URL to another host (an open redirect a person clicks on our own page).

Now every language link is a path-absolute reference with exactly one leading "/" and the rest
percent-encoded (idp/web/render.py ``same_origin_path``; RFC 3986 §4.2, WHATWG URL §4.4), so it
resolves to this origin whatever the path was.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from tests.support.server import LiveServer

LANG_LINK = re.compile(r'<a class="lang" href="([^"]*)"')

#: Raw request targets: as sent on the wire (httpx keeps the path as given).
HOSTILE = [
    "//evil.example/x",
    "///evil.example/x",
    "/\\evil.example/x",
    "/%2F%2Fevil.example/x",
    "/%5Cevil.example/x",
    "//evil.example/%2e%2e",
]


@pytest.mark.parametrize("target", HOSTILE)
def test_the_404_language_link_stays_on_this_origin(server: LiveServer, target: str) -> None:
    page = httpx.get(server.url(target), timeout=30)
    assert page.status_code == 404
    match = LANG_LINK.search(page.text)
    assert match, page.text[:500]
    href = html.unescape(match.group(1))
    assert href.startswith("/") and not href.startswith(("//", "/\\")), href
    assert "\\" not in href, href
    resolved = urlsplit(urljoin(server.url(target), href))
    assert (resolved.scheme, resolved.netloc) == ("http", f"localhost:{server.port}"), href


def test_an_ordinary_page_keeps_its_path_and_query_in_the_link(server: LiveServer) -> None:
    page = httpx.get(server.url("/login?next=/account"), timeout=30)
    href = html.unescape(LANG_LINK.search(page.text).group(1))  # type: ignore[union-attr]
    assert href == "/login?next=%2Faccount&lang=en"
