"""The renderers of errors, one per surface (issue 13 item 2): protocol JSON per RFC 6749 §5.2 and
RFC 6750 §3 / §3.1, the data API's refusal, the error page's JSON twin, and the CLI's one line."""

from __future__ import annotations

import json

import pytest
import typer
from starlette.requests import Request

import idp.web  # noqa: F401 - first: idp.oauth.http and idp.web import each other (pre-existing cycle)
from app.cli.common import fail, one_line
from app.error_handlers import api_response, page_error, protocol_response, wants_json
from app.settings import SettingsError
from common.messages import message
from consent.ports import ConsentError
from idp.oauth.dpop import CHALLENGE_ALGS, DPoPError
from idp.oauth.http import ProtocolError
from idp.oauth.resource import TokenMissing, TokenRefused, challenge, dpop_refusal
from idp.validation import FieldProblem


def _request(path: str, accept: str = "") -> Request:
    headers = [(b"accept", accept.encode())] if accept else []
    return Request({"type": "http", "method": "GET", "path": path, "query_string": b"", "headers": headers})


def _body(response: object) -> dict[str, str]:
    return json.loads(bytes(response.body))  # type: ignore[attr-defined]


def test_rfc6750_invalid_token_is_401_with_a_bearer_challenge_naming_the_error() -> None:
    """RFC 6750 §3: ``WWW-Authenticate: Bearer error="invalid_token", error_description=...``;
    §3.1: ``invalid_token`` is 401; RFC 6749 §5.2 body ``error``/``error_description``."""
    response = protocol_response(challenge("invalid_token", message("token.invalid")))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == (
        'Bearer error="invalid_token", error_description="the access token is not valid"'
    )
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"] == "application/json"
    assert _body(response) == {"error": "invalid_token", "error_description": "the access token is not valid"}


def test_rfc6750_insufficient_scope_is_403() -> None:
    """RFC 6750 §3.1: ``insufficient_scope`` — "The resource server SHOULD respond with the HTTP 403"."""
    response = protocol_response(challenge("insufficient_scope", message("token.no_openid")))
    assert response.status_code == 403
    assert response.headers["www-authenticate"].startswith('Bearer error="insufficient_scope"')
    assert _body(response)["error"] == "insufficient_scope"


def test_rfc6750_no_credentials_get_the_challenge_and_no_error() -> None:
    """RFC 6750 §3.1: a request lacking any authentication information gets no error code."""
    response = protocol_response(TokenMissing())
    assert response.status_code == 401 and response.body == b""
    assert response.headers["www-authenticate"] == f'Bearer realm="genba", DPoP algs="{CHALLENGE_ALGS}"'
    assert "cache-control" not in response.headers


def test_two_ways_of_sending_the_token_is_400_invalid_request_without_a_challenge() -> None:
    """RFC 6750 §2 / §3.1: more than one method is ``invalid_request`` (400)."""
    response = protocol_response(TokenRefused("invalid_request", message("token.two_ways"), status=400))
    assert response.status_code == 400 and "www-authenticate" not in response.headers
    assert _body(response) == {
        "error": "invalid_request",
        "error_description": "use only one way to send the access token",
    }


def test_rfc9449_a_refused_proof_at_a_resource_is_401_with_a_dpop_challenge_and_nonce() -> None:
    """RFC 9449 §7.1 (DPoP challenge with ``algs``) and §9 (a fresh ``DPoP-Nonce``)."""
    refusal = dpop_refusal(DPoPError("a nonce is required", error="use_dpop_nonce", nonce="n-2"))
    response = protocol_response(refusal)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == f'DPoP error="use_dpop_nonce", algs="{CHALLENGE_ALGS}"'
    assert response.headers["dpop-nonce"] == "n-2"
    assert _body(response) == {"error": "use_dpop_nonce", "error_description": "a nonce is required"}


def test_rfc9449_a_refused_proof_at_the_token_endpoint_is_400_with_the_nonce() -> None:
    """RFC 9449 §5 / §8: the token endpoint answers 400 ``use_dpop_nonce`` with ``DPoP-Nonce``."""
    response = protocol_response(DPoPError("a nonce is required", error="use_dpop_nonce", nonce="n-3"))
    assert response.status_code == 400 and response.headers["dpop-nonce"] == "n-3"
    assert _body(response)["error"] == "use_dpop_nonce"


def test_rfc6749_descriptions_hold_only_the_allowed_characters() -> None:
    """RFC 6749 §5.2: ``error_description`` is %x20-21 / %x23-5B / %x5D-7E; anything echoed from the
    request is made safe before it is sent."""
    response = protocol_response(ProtocolError("invalid_request", 'parameter "ä\\" is repeated'))
    assert response.status_code == 400
    assert _body(response) == {"error": "invalid_request", "error_description": "parameter ???? is repeated"}


def test_the_data_api_renders_a_consent_refusal_with_its_code_and_both_languages() -> None:
    response = api_response(ConsentError("not_found", "同意依頼が見つかりません", "no such consent request", 404))
    assert response.status_code == 404
    assert _body(response) == {"error": "not_found", "message": "同意依頼が見つかりません / no such consent request"}


@pytest.mark.parametrize(
    ("path", "accept", "expected"),
    [
        ("/api/v1/companies", "", True),
        ("/token", "", True),
        ("/userinfo", "text/html", True),
        ("/account", "application/json", True),
        ("/account", "text/html,application/json", False),
        ("/account", "", False),
    ],
)
def test_programs_get_json_pages_get_html(path: str, accept: str, expected: bool) -> None:
    assert wants_json(_request(path, accept)) is expected


def test_the_error_page_json_twin_names_the_error_and_says_it_in_both_languages() -> None:
    response = page_error(_request("/api/v1/x"), 400, message("page.bad_request"))
    assert response.status_code == 400
    assert _body(response) == {
        "error": "invalid_request",
        "error_description": "the request is not valid",
        "message": "入力が正しくありません / the request is not valid",
    }
    assert _body(page_error(_request("/token"), 500, message("page.unexpected")))["error"] == "server_error"


def test_the_cli_renders_one_line_field_first() -> None:
    assert one_line(FieldProblem("name", message("field.required"))) == "name: is required / 入力してください"
    assert one_line(SettingsError("GENBA_SECRET_KEY is missing")) == "GENBA_SECRET_KEY is missing"


def test_the_cli_fails_with_exit_status_2_and_one_line_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit) as info:
        fail(FieldProblem("email", message("field.email")))
    assert info.value.exit_code == 2
    assert (
        capsys.readouterr().err == "error: email: is not an e-mail address / メールアドレスの形式が正しくありません\n"
    )
