"""Issue 12, "Fuzzing in the test command": generated requests against a real server on SQLite and on
PostgreSQL, over every operation of ``/api/openapi.json`` (parameters and bodies generated from its schemas by
schemathesis) and over the protocol endpoints with their own hypothesis strategies.

What must hold for every request: no 5xx; on a protocol endpoint, every 4xx is JSON whose ``error``
is a code its specification defines (:data:`ERRORS`), and a redirect back to the client from
``/authorize`` carries such a code too (RFC 6749 §4.1.2.1).

Bounded and repeatable: hypothesis is derandomized (the examples depend on the test alone, not on
the run), keeps no example database, and each target gets :data:`EXAMPLES` examples. One server and
one world per backend; the targets run one after another and every failure is reported at the end.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core import NotSet

from tests.security.access_world import INITIAL_ACCESS_TOKEN, PRE_AUTH, SERVER_ENV, genba_batch
from tests.security.fuzz_support import (
    AUTHORIZE_FIELDS,
    GRANTS,
    JSON,
    JUNK,
    TEXT,
    Failures,
    Sent,
    details,
    form_of,
    header_safe,
)
from tests.support.live_backends import server_on
from tests.support.server import LiveServer

BACKENDS = ["sqlite", "postgresql"]
EXAMPLES = 100  # per protocol target and backend (half per OpenAPI operation)
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


@dataclass
class Fuzzed:
    server: LiveServer
    client_id: str
    client_secret: str
    client_token: str  # the confidential client's own (client_credentials) token
    wallet_token: str  # a holder's token from the pre-authorized code grant


@pytest.fixture(scope="module", params=BACKENDS)
def fuzzed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    with server_on(request.param, tmp_path_factory.mktemp(f"fuzz-{request.param}"), SERVER_ENV) as server:
        technician = ["--name", "鈴木 一郎", "--kana", "スズキ イチロウ", "--birth-date", "1985-04-12"]
        technician += ["--gender", "male", "--address", "東京都江東区東陽4-5-6", "--phone", "090-1234-5678"]
        employer = ["--trade-name", "山田工務店", "--address", "東京都江東区1-2-3", "--phone", "03-1234-5678"]
        _, _, _, client, offer = genba_batch(
            server,
            ["admin", "create-employer", "--employer-id", "31000000000018", *employer],
            ["admin", "create-technician", "--technician-id", "10000000000019", *technician],
            [
                "admin",
                "link-affiliation",
                "--technician-id",
                "10000000000019",
                "--employer-id",
                "31000000000018",
                "--start",
                "2020-04-01",
            ],
            [
                "admin",
                "create-client",
                "--name",
                "給与システム",
                "--redirect-uri",
                "https://rp.example/cb",
                "--grant-type",
                "authorization_code",
                "--grant-type",
                "client_credentials",
                "--owner-employer-id",
                "31000000000018",
            ],
            ["credentials", "offer", "--technician-id", "10000000000019"],
        )
        auth = (client["client_id"], client["client_secret"])
        own = httpx.post(server.url("/token"), data={"grant_type": "client_credentials"}, auth=auth, timeout=30)
        code = httpx.get(offer["offer_uri"], timeout=30).json()["grants"][PRE_AUTH]["pre-authorized_code"]
        holder = httpx.post(
            server.url("/token"),
            data={"grant_type": PRE_AUTH, "pre-authorized_code": code, "tx_code": offer["tx_code"]},
            timeout=30,
        )
        assert own.status_code == holder.status_code == 200, (own.text, holder.text)
        yield Fuzzed(server, *auth, own.json()["access_token"], holder.json()["access_token"])


# -- the targets -------------------------------------------------------------------------------------


def protocol_targets(fz: Fuzzed, http: httpx.Client, failures: Failures) -> dict[str, Callable[[], None]]:
    client = {"client_id": st.just(fz.client_id)}
    auth_choices = st.sampled_from(["none", "client", "wrong", "bearer"])

    def client_auth(choice: str) -> dict[str, str]:
        import base64

        pairs = {
            "client": f"{fz.client_id}:{fz.client_secret}",
            "wrong": f"{fz.client_id}:not-the-secret",
        }
        if choice in pairs:
            return {"Authorization": "Basic " + base64.b64encode(pairs[choice].encode()).decode()}
        return {"Authorization": f"Bearer {fz.client_token}"} if choice == "bearer" else {}

    token_form = st.fixed_dictionaries(
        {"grant_type": st.sampled_from(GRANTS) | JUNK},
        optional={
            "code": JUNK,
            "redirect_uri": JUNK,
            "code_verifier": JUNK,
            "refresh_token": JUNK,
            "scope": JUNK,
            "resource": JUNK,
            "authorization_details": details(),
            "pre-authorized_code": JUNK,
            "tx_code": JUNK,
            "client_id": JUNK | client["client_id"],
            "client_secret": JUNK,
            "client_assertion_type": JUNK,
            "client_assertion": JUNK,
        },
    )

    @FUZZ
    @given(form=token_form, auth=auth_choices, dpop=st.none() | JUNK)
    def token(form: dict[str, str], auth: str, dpop: str | None) -> None:
        headers = client_auth(auth) | ({"DPoP": dpop} if dpop is not None and header_safe(dpop) else {})
        failures.check(http, Sent("POST", "/token", "/token", form=form, headers=headers))

    @FUZZ
    @given(
        path=st.sampled_from(["/introspect", "/revoke"]),
        form=form_of(token=JUNK | st.just(fz.client_token), token_type_hint=JUNK, client_id=JUNK),
        auth=auth_choices,
    )
    def introspect_revoke(path: str, form: dict[str, str], auth: str) -> None:
        failures.check(http, Sent("POST", path, path, form=form, headers=client_auth(auth)))

    @FUZZ
    @given(form=st.fixed_dictionaries({}, optional={**AUTHORIZE_FIELDS, "client_id": JUNK}), auth=auth_choices)
    def par(form: dict[str, str], auth: str) -> None:
        failures.check(http, Sent("POST", "/par", "/par", form=form, headers=client_auth(auth)))

    @FUZZ
    @given(query=st.fixed_dictionaries({"client_id": client["client_id"] | JUNK}, optional=AUTHORIZE_FIELDS))
    def authorize(query: dict[str, str]) -> None:
        failures.check(http, Sent("GET", "/authorize", "/authorize", params=query))

    metadata = st.fixed_dictionaries(
        {"redirect_uris": st.lists(JUNK, max_size=3) | JSON | st.just(["https://rp.example/cb"])},
        optional={
            name: JSON | JUNK
            for name in (
                "client_name",
                "scope",
                "grant_types",
                "response_types",
                "token_endpoint_auth_method",
                "jwks",
                "jwks_uri",
                "backchannel_logout_uri",
                "post_logout_redirect_uris",
                "sector_identifier_uri",
                "subject_type",
                "request_uris",
                "id_token_signed_response_alg",
                "software_statement",
                "contacts",
                "logo_uri",
            )
        },
    )
    initial = st.sampled_from([f"Bearer {INITIAL_ACCESS_TOKEN}", "", "Bearer wrong", f"Bearer {fz.client_token}"])

    @FUZZ
    @given(body=metadata | JSON, authorization=initial)
    def register(body: Any, authorization: str) -> None:
        headers = {"Authorization": authorization} if authorization else {}
        failures.check(http, Sent("POST", "/register", "/register", body=body, headers=headers))

    userinfo_auth = st.one_of(
        st.sampled_from([f"Bearer {fz.client_token}", f"Bearer {fz.wallet_token}", f"DPoP {fz.client_token}"]),
        st.builds(lambda scheme, value: f"{scheme} {value}", st.sampled_from(["Bearer", "DPoP", "Basic", ""]), JUNK),
    )

    @FUZZ
    @given(method=st.sampled_from(["GET", "POST"]), authorization=userinfo_auth, form=form_of(access_token=JUNK))
    def userinfo(method: str, authorization: str, form: dict[str, str]) -> None:
        headers = {"Authorization": authorization} if header_safe(authorization) else {}
        sent = Sent(method, "/userinfo", "/userinfo", form=form if method == "POST" else None, headers=headers)
        failures.check(http, sent)

    proof = st.fixed_dictionaries(
        {"proof_type": st.sampled_from(["jwt", "attestation"]) | TEXT}, optional={"jwt": JUNK}
    )
    credential_request = st.fixed_dictionaries(
        {},
        optional={
            "credential_configuration_id": st.sampled_from(["ccus_card", "skill_training_certificate"]) | JSON,
            "credential_identifier": JSON,
            "format": JSON,
            "proof": proof | JSON,
            "proofs": st.fixed_dictionaries({}, optional={"jwt": st.lists(JUNK, max_size=2) | JSON}) | JSON,
            "credential_response_encryption": JSON,
        },
    )
    wallet = st.sampled_from([f"Bearer {fz.wallet_token}", f"Bearer {fz.client_token}", "Bearer x", ""])

    @FUZZ
    @given(body=credential_request | JSON, authorization=wallet)
    def credential(body: Any, authorization: str) -> None:
        headers = {"Authorization": authorization} if authorization else {}
        failures.check(http, Sent("POST", "/wallet/credential", "/wallet/credential", body=body, headers=headers))

    @FUZZ
    @given(
        body=st.fixed_dictionaries({}, optional={"notification_id": JSON, "event": JSON, "event_description": JSON})
        | JSON,
        authorization=wallet,
    )
    def notification(body: Any, authorization: str) -> None:
        headers = {"Authorization": authorization} if authorization else {}
        sent = Sent("POST", "/wallet/notification", "/wallet/notification", body=body, headers=headers)
        failures.check(http, sent)

    @FUZZ
    @given(body=st.none() | JSON)
    def nonce(body: Any) -> None:
        failures.check(http, Sent("POST", "/wallet/nonce", "/wallet/nonce", body=body))

    @FUZZ
    @given(
        request_id=JUNK.filter(lambda v: v and "/" not in v and v.isprintable()),
        form=form_of(response=JUNK, vp_token=JUNK, state=JUNK, presentation_submission=JUNK, error=JUNK),
    )
    def gate_response(request_id: str, form: dict[str, str]) -> None:
        failures.check(http, Sent("POST", f"/gate/responses/{quote(request_id, safe='')}", "", form=form))

    return {
        "POST /token": token,
        "POST /introspect, /revoke": introspect_revoke,
        "POST /par": par,
        "GET /authorize": authorize,
        "POST /register": register,
        "GET|POST /userinfo": userinfo,
        "POST /wallet/credential": credential,
        "POST /wallet/notification": notification,
        "POST /wallet/nonce": nonce,
        "POST /gate/responses/{request_id}": gate_response,
    }


def openapi_targets(fz: Fuzzed, http: httpx.Client, failures: Failures) -> dict[str, Callable[[], None]]:
    """Every operation of /api/openapi.json that takes parameters or a body: schemathesis generates them
    from its schemas, conforming (positive) and not (negative); each is sent with each kind of token."""
    schema = schemathesis.openapi.from_dict(http.get("/api/openapi.json").json())
    tokens = st.sampled_from(["", f"Bearer {fz.client_token}", f"Bearer {fz.wallet_token}", "Bearer x"])
    targets: dict[str, Callable[[], None]] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        definition = operation.definition.raw
        if not definition.get("parameters") and "requestBody" not in definition:
            continue  # nothing to generate: the access-control matrix sends it
        cases = st.one_of(operation.as_strategy(mode) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE))
        name = f"{operation.method.upper()} {operation.path}"
        targets[name] = _openapi_target(http, failures, operation.path, cases, tokens)
    return targets


def _openapi_target(
    http: httpx.Client, failures: Failures, path: str, cases: st.SearchStrategy[Any], tokens: st.SearchStrategy[str]
) -> Callable[[], None]:
    endpoint = "/register" if path.startswith("/register") else ""

    @settings(FUZZ, max_examples=EXAMPLES // 2)
    @given(case=cases, authorization=tokens)
    def target(case: Any, authorization: str) -> None:
        url = "/".join(quote(part, safe="") for part in case.formatted_path.split("/")) or "/"
        query = {name: _text(value) for name, value in (case.query or {}).items()}
        body = None if isinstance(case.body, NotSet) else case.body
        headers = {"Authorization": authorization} if authorization else {}
        failures.check(http, Sent(case.method.upper(), url, endpoint, params=query, body=body, headers=headers))

    return target


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value if isinstance(value, str) else json.dumps(value, default=str)


def test_fuzz(fuzzed: Fuzzed) -> None:
    """No generated request gets a 5xx; every 4xx of a protocol endpoint is one of its spec's codes.
    (One test per backend, so that one server per backend serves every target, with or without xdist.)"""
    failures = Failures()
    with httpx.Client(base_url=fuzzed.server.base_url, timeout=30.0, follow_redirects=False) as http:
        targets = protocol_targets(fuzzed, http, failures) | openapi_targets(fuzzed, http, failures)
        for name, target in targets.items():
            failures.run(name, target)
    assert not failures.found, "\n\n".join(failures.found)
