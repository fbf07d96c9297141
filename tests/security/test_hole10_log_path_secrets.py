"""Hole 10 (second pass): the access log carried the credential-offer id in the URL path
(``/wallet/offers/<id>``), and that URL hands out the pre-authorized code to whoever fetches it.

Anyone who can read the logs must not be able to redeem a technician's offer: the id is redacted
from every log line, as codes and tokens in query strings already were (RFC 9700 §4.2.4).
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import httpx

from tests.security.conftest import DEMO_TECHNICIAN
from tests.support.server import LiveServer


def test_the_offer_id_fetched_over_http_is_not_in_the_server_log(server: LiveServer) -> None:
    """OpenID4VCI 1.0 §4.1.3: the offer by reference carries the pre-authorized code; its URL is a secret."""
    made = json.loads(server.genba("credentials", "offer", "--technician-id", DEMO_TECHNICIAN, "--json").stdout)
    path = urlsplit(made["offer_uri"]).path
    offer_id = path.rsplit("/", 1)[-1]
    response = httpx.get(server.url(path), timeout=30)
    assert response.status_code == 200 and "pre-authorized_code" in json.dumps(response.json())
    log = server.log_path.read_text(errors="replace")
    assert "/wallet/offers/[redacted]" in log
    assert offer_id not in log
