"""RFC 9700 (OAuth 2.0 Security Best Current Practice) attacks on the front channel and the code: authorization
code injection, PKCE downgrade, mix-up and open redirection. Each test names the section it checks.
Token leakage, forgery and parameter abuse are in ``test_rfc9700_tokens.py``; refresh token replay and DPoP
in tests/integration/idp/oauth/ (test_refresh_rotation.py, test_dpop.py)."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.support.oidc import (
    ISSUER,
    REDIRECT,
    Client,
    authorize_url,
    code_flow,
    exchange,
    pkce,
    register_client,
    run_flow,
    token_request,
    unsigned_jwt,
)
from tests.support.web import Person


def _refused_on_page(client: TestClient, url: str) -> None:
    """The request is answered with an error page: no redirect anywhere."""
    response = client.get(url, follow_redirects=False)
    assert response.status_code == 400 and "location" not in response.headers, (url, response.status_code)
    assert 'id="oauth-error">' in response.text


def test_code_injection_code_of_another_client_is_refused(
    app: FastAPI, client: TestClient, rp: Client, technician: Person
) -> None:
    """§4.5 (authorization code injection), RFC 6749 §4.1.3: a code issued to client A and redeemed by client B
    (authenticating correctly, with A's verifier and redirect URI) gets invalid_grant."""
    attacker = register_client(app, client_name="攻撃者")
    flow, verifier = code_flow(client, app, rp, technician)
    stolen = exchange(client, attacker, flow.code, verifier)
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    assert "access_token" not in stolen.json()


def test_code_injection_wrong_pkce_verifier_is_refused(
    app: FastAPI, client: TestClient, rp: Client, technician: Person
) -> None:
    """§4.5.3.1 and §2.1.1 (PKCE against code injection), RFC 7636 §4.6: a code redeemed with another
    transaction's code_verifier gets invalid_grant; so does one redeemed with a different redirect_uri
    (RFC 6749 §4.1.3)."""
    flow, _ = code_flow(client, app, rp, technician)
    other_verifier, _ = pkce()
    response = exchange(client, rp, flow.code, other_verifier)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    flow, verifier = code_flow(client, app, rp, technician)
    form = {"grant_type": "authorization_code", "code": flow.code, "redirect_uri": REDIRECT + "/other"}
    response = token_request(client, rp, code_verifier=verifier, **form)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_pkce_downgrade_challenge_sent_verifier_omitted(
    app: FastAPI, client: TestClient, rp: Client, technician: Person
) -> None:
    """§4.8.2 (PKCE downgrade), RFC 7636 §4.6: when the authorization request had a code_challenge, a token
    request without code_verifier is refused."""
    flow, _ = code_flow(client, app, rp, technician)
    response = exchange(client, rp, flow.code)
    assert response.status_code == 400 and response.json()["error"] in ("invalid_request", "invalid_grant")
    assert "access_token" not in response.json()


def test_pkce_downgrade_plain_method_refused(app: FastAPI, client: TestClient, rp: Client, technician: Person) -> None:
    """§2.1.1 ("SHOULD use ... S256"), §4.8.2; RFC 7636 §4.3 (method defaults to plain): code_challenge_method=plain,
    or a challenge without a method (meaning plain), is refused with invalid_request sent to the client."""
    code_flow(client, app, rp, technician)  # signed in, so the refusal is about PKCE
    verifier, _ = pkce()
    for method in ("plain", None):
        url = authorize_url(rp, code_challenge=verifier, code_challenge_method=method, state="st-plain")
        flow = run_flow(client, app, url)
        assert flow.params.get("error") == "invalid_request" and "code" not in flow.params, (method, flow.params)
        assert flow.params["state"] == "st-plain" and flow.params["iss"] == ISSUER


def test_pkce_downgrade_verifier_without_challenge_refused(
    app: FastAPI, client: TestClient, rp: Client, technician: Person
) -> None:
    """§2.1.1: "authorization servers MUST ... ensure that if there is no code_challenge in the authorization
    request, a request to the token endpoint containing a code_verifier is rejected". Public clients cannot
    leave PKCE out at all (§2.1.1, RFC 7636 §4.4.1)."""
    run_flow(client, app, authorize_url(rp), person=technician, remember=True)
    flow = run_flow(client, app, authorize_url(rp))
    verifier, _ = pkce()
    response = exchange(client, rp, flow.code, verifier)
    assert response.status_code == 400 and response.json()["error"] in ("invalid_request", "invalid_grant")
    public = register_client(app, client_type="public", client_name="現場アプリ")
    refused = run_flow(client, app, authorize_url(public))
    assert refused.params.get("error") == "invalid_request" and "code" not in refused.params


def test_mix_up_iss_in_every_authorization_response(
    app: FastAPI, client: TestClient, rp: Client, technician: Person
) -> None:
    """§4.4.2 (mix-up countermeasure), RFC 9207 §2: every authorization response, success or error, in query or
    form_post mode, carries iss equal to the issuer in the metadata."""
    issuer = client.get("/.well-known/openid-configuration").json()["issuer"]
    responses = [run_flow(client, app, authorize_url(rp, prompt="none")).params]  # login_required, no session
    responses.append(code_flow(client, app, rp, technician)[0].params)  # success, query
    responses.append(run_flow(client, app, authorize_url(rp, response_mode="form_post")).params)  # success, form_post
    responses.append(run_flow(client, app, authorize_url(rp, scope="openid payroll")).params)  # invalid_scope
    responses.append(run_flow(client, app, authorize_url(rp, response_type="token")).params)
    responses.append(run_flow(client, app, authorize_url(rp, request=unsigned_jwt({"scope": "openid"}))).params)
    responses.append(
        run_flow(client, app, authorize_url(rp, prompt="consent", response_mode="form_post"), consent="deny").params
    )
    errors = [p.get("error") for p in responses]
    assert errors == [
        "login_required",
        None,
        None,
        "invalid_scope",
        "unsupported_response_type",
        "invalid_request_object",
        "access_denied",
    ]
    assert all(p.get("iss") == issuer == ISSUER for p in responses), responses


def test_open_redirect_unregistered_redirect_uri_is_never_used(
    app: FastAPI, client: TestClient, rp: Client, technician: Person
) -> None:
    """§4.11.2 (AS as open redirector), §4.1.3; RFC 6749 §4.1.2.1 ("MUST NOT automatically redirect the user-agent
    to the invalid redirection URI"): an unregistered redirect_uri gets an error page, also when the request has
    other errors, when the client is unknown, and when the user is signed in."""
    evil = "https://evil.example/cb"
    code_flow(client, app, rp, technician)
    for url in (
        authorize_url(rp, redirect_uri=evil),
        authorize_url(rp, redirect_uri=evil, response_type=None),
        authorize_url(rp, redirect_uri=evil, prompt="none"),
        authorize_url(rp, redirect_uri=evil, scope="openid payroll", response_type="token"),
        authorize_url(rp, redirect_uri=evil, request=unsigned_jwt({"scope": "openid"})),
        authorize_url(rp, redirect_uri=None),
        authorize_url(Client("unknown-client", None, evil)),
    ):
        _refused_on_page(client, url)


NEAR_MISSES = (
    "https://rp.example.jp/cb/",  # trailing slash
    "https://rp.example.jp/cb2",
    "https://rp.example.jp/CB",
    "https://rp.example.jp/cb/../cb",
    "https://rp.example.jp/cb?next=https://evil.example",
    "https://rp.example.jp/cb#x",
    "http://rp.example.jp/cb",  # scheme
    "https://rp.example.jp:8443/cb",  # port freedom is for loopback http only
    "https://rp.example.jp.evil.example/cb",
    "https://evil.example@rp.example.jp/cb",  # userinfo
    "https://rp.example.jp@evil.example/cb",
    "https://rp.example.jp%40evil.example/cb",
    "//rp.example.jp/cb",
)


def test_open_redirect_near_miss_uris_are_refused(client: TestClient, rp: Client) -> None:
    """§2.1 and §4.1.3: redirect URIs are compared by exact string matching, so near misses (path, trailing slash,
    query, fragment, scheme, port, host suffix, userinfo@host) are refused on an error page."""
    for uri in NEAR_MISSES:
        _refused_on_page(client, authorize_url(rp, redirect_uri=uri))


def test_open_redirect_loopback_port_freedom_only_for_loopback_ip(
    app: FastAPI, client: TestClient, technician: Person
) -> None:
    """§2.1 ("except port numbers in localhost redirection URIs of native apps"), RFC 8252 §7.3, §8.3: a client
    registered with http://127.0.0.1/cb or http://[::1]/cb may use any port, and the code goes to exactly that
    URI; nothing else varies (scheme, host, path, query), and http://localhost gets no port freedom."""
    native = register_client(
        app,
        client_type="public",
        client_name="現場アプリ",
        redirect_uris=["http://127.0.0.1/cb", "http://[::1]/cb", "http://localhost:8080/cb"],
    )
    for uri in ("http://127.0.0.1:51004/cb", "http://[::1]:51004/cb", "http://127.0.0.1/cb"):
        flow, verifier = code_flow(client, app, Client(native.client_id, None, uri, "none"), technician)
        assert flow.location is not None and flow.location.startswith(uri + "?"), (uri, flow.location)
        assert exchange(client, Client(native.client_id, None, uri, "none"), flow.code, verifier).status_code == 200
    for uri in (
        "http://localhost:9090/cb",
        "https://127.0.0.1:51004/cb",
        "http://127.0.0.2:51004/cb",
        "http://127.0.0.1:51004/cb/",
        "http://127.0.0.1:51004/other",
        "http://127.0.0.1:51004/cb?x=1",
        "http://user@127.0.0.1:51004/cb",
    ):
        _refused_on_page(
            client, authorize_url(native, redirect_uri=uri, code_challenge=pkce()[1], code_challenge_method="S256")
        )
    https_rp = register_client(app)  # an https registration never gets port freedom
    _refused_on_page(client, authorize_url(https_rp, redirect_uri="https://rp.example.jp:444/cb"))


def test_open_redirect_userinfo_disguised_as_loopback_is_refused(
    app: FastAPI, client: TestClient, technician: Person
) -> None:
    """§4.11.2 (open redirector), §2.1 (exact matching; port is the only exception), RFC 8252 §7.3; RFC 3986 §3.2.1
    (userinfo@host): URIs whose host is not the loopback address but whose userinfo looks like one
    (127.0.0.1:80@evil.example, [::1]:80@evil.example, the WHATWG/RFC 3986 disagreement on a backslash) are
    refused and no code is ever sent to them."""
    native = register_client(
        app, client_type="public", client_name="現場アプリ", redirect_uris=["http://127.0.0.1/cb", "http://[::1]/cb"]
    )
    leaked = {}
    for uri in (
        "http://127.0.0.1:80@evil.example/cb",
        "http://[::1]:80@evil.example/cb",
        "http://127.0.0.1:5000\\@evil.example/cb",
    ):
        flow = run_flow(
            client,
            app,
            authorize_url(native, redirect_uri=uri, code_challenge=pkce()[1], code_challenge_method="S256"),
            person=technician,
        )
        if flow.status != 400 or flow.location is not None:
            leaked[uri] = (urlsplit(flow.location or "").hostname, flow.params.get("code", "")[:6])
    assert not leaked


def test_open_redirect_loopback_uri_with_fragment_is_refused(client: TestClient, app: FastAPI) -> None:
    """RFC 6749 §3.1.2 ("The endpoint URI MUST NOT include a fragment component"), RFC 9700 §2.1 (exact matching
    except the port): a loopback redirect URI differing from the registered one by a fragment is refused."""
    native = register_client(app, client_type="public", client_name="現場アプリ", redirect_uris=["http://127.0.0.1/cb"])
    _refused_on_page(
        client,
        authorize_url(
            native, redirect_uri="http://127.0.0.1:5000/cb#x", code_challenge=pkce()[1], code_challenge_method="S256"
        ),
    )
