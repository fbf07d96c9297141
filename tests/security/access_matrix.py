"""The access-control matrix (issue 12, "An access-control matrix test"): for every route of the
application (``create_app(settings)``'s route table, each path × method) the expected outcome for
every kind of caller. ``test_access_matrix.py`` probes each cell over HTTP against a real server
and fails on a route that has no row here, so a new endpoint cannot skip it.

An outcome is the HTTP status, and for a redirect also where it goes: ``"303→/login"`` (a page's
answer to someone not signed in), ``"302→ext"`` (back to the relying party). The callers and the
world they live in are described in ``access_world.py``. Every probe concerns the same subject:
technician ``T`` (``{technician_id}``), his employer ``E`` (``{employer_id}``), his site
(``{site_id}``), his consent (``{consent_id}``), ...

To add a route: add a :class:`Row` (method, path exactly as declared, the concrete probe and its
body, and :func:`cells` naming the outcome for each caller), or, for a purely public document,
add it to :data:`PUBLIC` (docs/security.md, "Access-control matrix and fuzzing"). A probe must be
harmless for the callers it is allowed for (a wrong password, an event without a presentation), or
be marked ``last`` and ordered with the other session-ending rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from wallet.gate.pages import GATE_ASSETS
from wallet.web import MODULES as WALLET_MODULES

#: Every kind of caller, in the order each row is probed: the rightful callers come last, so a
#: state change made by an allowed probe cannot hide what the others would have got.
CALLERS: tuple[str, ...] = (
    "anonymous",
    # the pre-authorized code grant's token (OpenID4VCI §6.1), redeemed with client_id = E's system as in
    # hole 1: the credential endpoint only
    "wallet_token",
    "dpop_without_proof",  # E's DPoP-bound client token sent without its proof (RFC 9449 §7.1)
    "client_token",  # E's own system, client_credentials
    "orderer",  # the system of SITE's orderer (発注者), client_credentials
    "user_token_unconsented",  # T's token at an RP, scope openid only
    "user_token_consented",  # T's token at the same RP with a consent T and E approved
    "employer_admin_token",  # E's admin's own token at E's own system (rule 3's API)
    "operator",  # a platform operator's sign-in
    "gate_other_prime",  # staff of the prime contractor of another site
    "gate_prime",  # gate staff of SITE's prime contractor
    "past_employer_staff",
    "past_employer_admin",
    "technician_other",  # a colleague of T at E
    "employer_staff",  # E's staff (not admin)
    "employer_admin",
    "technician_self",
)
COOKIE_CALLERS = (
    "operator",
    "gate_other_prime",
    "gate_prime",
    "past_employer_staff",
    "past_employer_admin",
    "technician_other",
    "employer_staff",
    "employer_admin",
    "technician_self",
)
TOKEN_CALLERS = tuple(c for c in CALLERS if c not in COOKIE_CALLERS and c != "anonymous")
#: staff of any company (the gate staff are staff of their prime contractors)
STAFF = (
    "gate_other_prime",
    "gate_prime",
    "past_employer_staff",
    "past_employer_admin",
    "employer_staff",
    "employer_admin",
)
TECHNICIANS = ("technician_other", "technician_self")
#: companies' own systems: their client_credentials tokens, and E's admin signed in to E's system
SYSTEMS = ("client_token", "orderer", "employer_admin_token")
USER_TOKENS = ("user_token_unconsented", "user_token_consented")  # T's

Outcome = int | str
LOGIN = "303→/login"


def cells(default: Outcome, *groups: tuple[tuple[str, ...], Outcome], **each: Outcome) -> dict[str, Outcome]:
    """The outcome of every caller: ``default``, then each ``(callers, outcome)`` group, then each caller by name."""
    outcomes = dict.fromkeys(CALLERS, default)
    for names, outcome in groups:
        outcomes.update(dict.fromkeys(names, outcome))
    unknown = set(each) - set(CALLERS)
    assert not unknown, f"unknown callers {unknown}"
    outcomes.update(each)
    return outcomes


def anyone(outcome: Outcome) -> dict[str, Outcome]:
    return cells(outcome)


def unsigned(outcome: Outcome) -> tuple[tuple[str, ...], Outcome]:
    """Everyone without a session cookie: the anonymous caller and every token (pages ignore tokens)."""
    return (("anonymous", *TOKEN_CALLERS), outcome)


def signed_in(outcome: Outcome) -> tuple[tuple[str, ...], Outcome]:
    return (COOKIE_CALLERS, outcome)


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # the route's path as declared
    expect: Mapping[str, Outcome]
    probe: str = ""  # the URL probed, with {placeholders} from the world; the path itself by default
    form: dict[str, str] | None = None  # sent urlencoded (never empty), with a signed-in caller's csrf_token
    json: Any = None
    last: bool = False  # ends sessions: probed after every other row, in order
    why: str = ""  # the rule the row enforces, when not obvious
    detail: str = ""  # a member of a 200 JSON answer that is part of the outcome: "200 recorded=0"
    headers: dict[str, str] = field(default_factory=dict)


#: Documents anyone may fetch, identical for every caller: only the anonymous caller probes them.
#: (method, path) -> the URL probed and the status expected.
PUBLIC: dict[tuple[str, str], tuple[str, Outcome]] = {
    ("GET", "/api/openapi.json"): ("/api/openapi.json", 200),
    ("GET", "/jwks"): ("/jwks", 200),
    ("GET", "/.well-known/openid-configuration"): ("/.well-known/openid-configuration", 200),
    ("GET", "/.well-known/oauth-authorization-server"): ("/.well-known/oauth-authorization-server", 200),
    ("GET", "/.well-known/openid-credential-issuer"): ("/.well-known/openid-credential-issuer", 200),
    ("GET", "/.well-known/jwt-vc-issuer"): ("/.well-known/jwt-vc-issuer", 200),
    ("GET", "/vct/{name}"): ("/vct/ccus-technician-card", 200),
    ("GET", "/wallet/root.pem"): ("/wallet/root.pem", 200),
    ("GET", "/wallet/status/{list_id}"): ("/wallet/status/no-such-list", 404),  # public; none issued yet
    ("GET", "/gate"): ("/gate", "307→/gate/app"),
    ("GET", "/healthz"): ("/healthz", 200),
    ("GET", "/readyz"): ("/readyz", 200),
    ("GET", "/static/idp"): ("/static/idp/style.css", 200),
    **{
        ("GET", path): (path, 200)
        for path in (
            "/wallet/app",
            *(f"/wallet/{name}" for name in WALLET_MODULES),
            "/wallet/sw.js",
            "/wallet/sw-core.js",
            "/wallet/wallet.css",
            "/wallet/manifest.webmanifest",
            "/wallet/icon.svg",
            "/wallet/icon-maskable.svg",
            "/wallet/vendor/jsQR.js",
            "/wallet/vendor/qrcode.js",
            "/gate/app",
            *(path for path in GATE_ASSETS if path.endswith(".js") and path.startswith(("/gate/", "/common/"))),
            "/gate/gate.css",
            "/gate/sw.js",
            "/gate/sw-core.js",
            "/gate/manifest.webmanifest",
            "/gate/vendor/jsQR.js",
            "/gate/vendor/qrcode.js",
        )
    },
}

_AUTHORIZE = (
    "/authorize?response_type=code&client_id={rp_client_id}&redirect_uri=https%3A%2F%2Frp.example%2Fcb"
    "&scope=openid&state=s&nonce=n&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    "&code_challenge_method=S256"
)
_EVENT = {
    "event_key": "matrix-1",
    "site_id": "{site_id}",
    "gate_id": "main",
    "direction": "in",
    "at": "2026-01-05T08:00:00+09:00",
    "ok": True,
    "technician_id": "{technician_id}",
    "recorded_by": "x",
}

ROWS: list[Row] = [
    # -- the authorization server (RFC 6749, 7009, 7662, 9126; OIDC Core §5.3) ---------------------
    Row(
        "POST",
        "/token",
        anyone(401),
        why="RFC 6749 §2.3: only client authentication opens it; no access token or cookie is a client",
        form={"grant_type": "client_credentials"},
    ),
    Row("POST", "/revoke", anyone(401), why="RFC 7009 §2.1: client authentication", form={"token": "x"}),
    Row(
        "POST",
        "/introspect",
        anyone(401),
        why="RFC 7662 §2.1: client authentication, never a resource token",
        form={"token": "x"},
    ),
    Row(
        "POST",
        "/par",
        anyone(401),
        why="RFC 9126 §2: client authentication",
        form={"response_type": "code", "client_id": "{rp_client_id}"},
    ),
    Row(
        "GET",
        "/userinfo",
        cells(401, (USER_TOKENS, 200), employer_admin_token=200),
        why="OIDC Core §5.3: a person's token with openid; DPoP-bound needs its proof",
    ),
    Row("POST", "/userinfo", cells(401, (USER_TOKENS, 200), employer_admin_token=200)),
    Row(
        "GET",
        "/authorize",
        cells(LOGIN, signed_in(200)),
        why="the consent screen, for whoever is signed in",
        probe=_AUTHORIZE,
    ),
    Row(
        "POST",
        "/authorize",
        anyone(400),
        why="no redirect_uri etc.: refused before anyone is looked at",
        form={"client_id": "{rp_client_id}"},
    ),
    Row("GET", "/authorize/continue", anyone(400), why="no authorization transaction in progress"),
    Row(
        "POST",
        "/authorize/consent",
        cells(403, signed_in(400)),
        why="CSRF first; a signed-in person without a transaction: 400",
        form={"decision": "approve"},
    ),
    Row(
        "POST",
        "/register",
        anyone(401),
        why="RFC 7591 §3: only the initial access token, which no caller has",
        json={"redirect_uris": ["https://rp.example/cb"]},
    ),
    Row("GET", "/register/{client_id}", anyone(401), why="RFC 7592 §2: only the client's registration access token"),
    Row("PUT", "/register/{client_id}", anyone(401), json={"redirect_uris": ["https://rp.example/cb"]}),
    Row("DELETE", "/register/{client_id}", anyone(401)),
    # -- sign-in ----------------------------------------------------------------------------------
    Row("GET", "/", cells("303→/account", unsigned(200))),
    Row("GET", "/login", anyone(200)),
    Row(
        "POST",
        "/login",
        cells(401, unsigned(403)),
        why="a wrong password; without the CSRF cookie, 403 first",
        form={"username": "nobody-{caller}", "password": "x"},
    ),
    Row("GET", "/login/otp", anyone(401), why="no password step in progress"),
    Row("POST", "/login/otp", cells(401, unsigned(403)), form={"otp": "000000"}),
    Row("GET", "/login/recovery", anyone(401)),
    Row("POST", "/login/recovery", cells(401, unsigned(403)), form={"code": "x"}),
    Row("GET", "/login/enrol", anyone(401)),
    Row("POST", "/login/enrol", cells(401, unsigned(403)), form={"otp": "000000"}),
    Row(
        "POST",
        "/login/passkey/options",
        cells(200, unsigned(403)),
        why="JSON CSRF: the X-CSRF-Token of the browser's own cookie",
    ),
    Row("POST", "/login/passkey/verify", cells(401, unsigned(403)), json={}),
    # -- the account ------------------------------------------------------------------------------
    Row("GET", "/account", cells(LOGIN, signed_in(200))),
    Row("GET", "/account/photo", cells(401, signed_in(404)), why="only one's own photo; none of the callers has one"),
    Row("GET", "/account/totp", cells(LOGIN, signed_in(200))),
    Row(
        "POST", "/account/totp", cells(403, signed_in(400)), why="no TOTP offer in the session", form={"otp": "000000"}
    ),
    Row(
        "POST",
        "/account/recovery-codes",
        cells(403, signed_in(200)),
        why="one's own new codes (recent sign-in)",
        form={},
    ),
    Row("POST", "/account/passkeys/options", cells(403, signed_in(200))),
    Row(
        "POST",
        "/account/passkeys/verify",
        cells(403, signed_in(400)),
        why="a malformed response is passkey_failed, never a 500",
        json={},
    ),
    Row(
        "POST",
        "/account/passkeys/{passkey_id}/delete",
        cells(403, signed_in(404)),
        why="only one's own passkeys",
        probe="/account/passkeys/1/delete",
        form={},
    ),
    Row(
        "POST",
        "/account/password",
        cells(403, signed_in(400)),
        why="the current password is wrong",
        form={"current_password": "wrong", "new_password": "x"},
    ),
    # -- consent (docs/domain.md rules 1, 2, 6) ----------------------------------------------------
    Row("GET", "/consent", cells(LOGIN, signed_in("303→/consent/employer"), (TECHNICIANS, 200))),
    Row(
        "GET",
        "/consent/employer",
        cells(
            LOGIN,
            (STAFF, 200),
            operator="303→/consent",
            technician_other="303→/consent",
            technician_self="303→/consent",
        ),
    ),
    Row(
        "POST",
        "/consent/employer/bulk",
        cells(403, operator=401, employer_admin=409, technician_self=409),
        why="rule 1: only T and his current employer's admin decide on T's consent (already approved: 409); "
        "staff, a former employer, a colleague are refused",
        form={"decision": "approve", "id_{consent_id}": "1"},
    ),
    Row(
        "POST",
        "/consent/employer/grant",
        cells(
            403, operator=LOGIN, technician_other=LOGIN, technician_self=LOGIN, employer_admin="303→/consent/employer"
        ),
        why="rule 1: only T's current employer's admin starts a grant for T",
        form={
            "client_id": "{e_system_client_id}",
            "group_identity": "1",
            "tech_{technician_id}": "1",
            "purpose": "matrix",
            "period_end": "{period_end}",
        },
    ),
    Row(
        "GET",
        "/consent/{consent_id}/receipt.json",
        cells(404, employer_staff=200, employer_admin=200, technician_self=200),
        why="the receipt is T's and his current employer's; not a former employer's (item 9)",
    ),
    Row(
        "GET",
        "/consent/records.json",
        cells(401, (TECHNICIANS, 200)),
        why="APPI art. 33(5): each technician's own records only",
    ),
    Row(
        "POST",
        "/consent/{consent_id}/{action}",
        cells(403, operator=401, employer_admin=409, technician_self=409),
        why="rule 1: T and E's admin only (already approved: 409)",
        probe="/consent/{consent_id}/approve",
        form={},
    ),
    Row(
        "GET",
        "/employer/technicians",
        cells(
            LOGIN,
            (STAFF, 200),
            operator="303→/account",
            technician_other="303→/account",
            technician_self="303→/account",
        ),
        why="each company sees its own current technicians",
    ),
    Row(
        "GET",
        "/employer/kentaikyo.csv",
        cells(
            LOGIN,
            (STAFF, 200),
            operator="303→/account",
            technician_other="303→/account",
            technician_self="303→/account",
        ),
        why="issue 16: each company's 建退共 days of its own technicians only (the staff member's company)",
    ),
    Row(
        "POST",
        "/employer/technicians/contact-substitution",
        cells(403, past_employer_admin=400, employer_admin="303→/employer/technicians"),
        why="rule 3: the current employer's admin only (a former one: not a current technician, 400)",
        form={"target": "{technician_id}", "value": "default"},
    ),
    Row(
        "POST",
        "/employer/technicians/end-affiliation",
        cells(403, past_employer_admin=400, employer_admin=200),
        why="the current employer's admin only (a former one: not its technician, 400); without confirm=yes "
        "the answer is the confirmation page and nothing changes",
        form={"technician_id": "{technician_id}", "end_date": "2025-03-31"},
    ),
    Row(
        "POST",
        "/employer/systems/rotate-secret",
        cells(403, past_employer_admin=404, employer_admin=200),
        why="the admin of the company that owns the system only (another company's: unknown, 404); without "
        "confirm=yes the answer is the confirmation page and the secret stays",
        form={"client_id": "{e_system_client_id}"},
    ),
    # -- the data API (/api/v1) -------------------------------------------------------------------
    Row(
        "GET",
        "/api/v1/technicians/me",
        cells(401, (SYSTEMS, 400), user_token_unconsented=403, user_token_consented=200),
        why="a person's token only; no consent, no field",
    ),
    Row(
        "GET",
        "/api/v1/technicians/{technician_id}",
        cells(401, (SYSTEMS, 200), user_token_unconsented=403, user_token_consented=200),
        why="rules 1, 4, 5: the employer's own system, the orderer of T's project, an RP with both approvals; "
        "hole 1: never the wallet's token",
    ),
    Row(
        "GET",
        "/api/v1/attendance/technicians/{technician_id}/months/{month}",
        cells(
            401,
            (SYSTEMS, 200),
            orderer=403,
            user_token_unconsented=403,
            user_token_consented=403,
        ),
        why="issue 16, group attendance: E's own systems by the relationship rule; the orderer and an RP whose "
        "consent names other groups: 403",
        probe="/api/v1/attendance/technicians/{technician_id}/months/2026-11",
    ),
    Row(
        "GET",
        "/api/v1/sites/{site_id}/roster",
        cells(401, (SYSTEMS, 200), (USER_TOKENS, 404)),
        why="rules 4, 5: the site's companies and orderer; anyone else: as if no such site",
    ),
    Row(
        "GET",
        "/api/v1/companies",
        cells(401, (SYSTEMS, 200), (USER_TOKENS, 200)),
        why="public company data, for the data API's tokens",
        probe="/api/v1/companies?q=山田",
    ),
    Row(
        "POST",
        "/api/v1/consent-requests",
        cells(401, (SYSTEMS, 201), (USER_TOKENS, 201)),
        why="any system may ask; nothing leaves before both approve",
        json={
            "technician_ids": ["{technician_id}"],
            "groups": ["identity"],
            "purpose": "matrix",
            "period_end": "{period_end}",
        },
    ),
    Row(
        "GET",
        "/api/v1/consent-requests/{consent_id}",
        cells(401, (SYSTEMS, 404), user_token_unconsented=404, user_token_consented=200),
        why="only the requester (the RP) sees its request",
    ),
    Row(
        "GET",
        "/api/v1/employers/{employer_id}/contact-substitution",
        cells(401, (USER_TOKENS, 403), employer_admin_token=200),
        why="rule 3: E's admin through E's own system only; T's tokens are refused",
    ),
    Row(
        "PUT",
        "/api/v1/employers/{employer_id}/contact-substitution",
        cells(401, (USER_TOKENS, 403), employer_admin_token=200),
        json={"enabled": False},
    ),
    Row(
        "PUT",
        "/api/v1/employers/{employer_id}/technicians/{technician_id}/contact-substitution",
        cells(401, (USER_TOKENS, 403), employer_admin_token=200),
        json={"enabled": None},
    ),
    Row("GET", "/metrics", anyone(200), why="Prometheus counters, nothing about a person (app/ops.py)"),
    # -- the credential issuer (OpenID4VCI) and the web wallet --------------------------------------
    Row(
        "GET",
        "/wallet/offers/{offer_id}",
        anyone(200),
        why="OpenID4VCI §4.1.3: the offer URL is the capability; the tx_code protects the code",
    ),
    Row(
        "POST", "/wallet/nonce", anyone(200), why="OpenID4VCI §7: the nonce endpoint is unauthenticated (rate-limited)"
    ),
    Row(
        "POST",
        "/wallet/credential",
        cells(401, wallet_token=400),
        why="hole 1/3: the wallet's token only (no proof: 400)",
        json={"credential_configuration_id": "ccus_card"},
    ),
    Row(
        "POST",
        "/wallet/notification",
        cells(401, wallet_token=400),
        json={"notification_id": "x", "event": "credential_accepted"},
    ),
    Row("GET", "/wallet/add", cells(LOGIN, signed_in(200))),
    Row(
        "POST",
        "/wallet/add",
        cells(403, (TECHNICIANS, 200)),
        why="an offer of one's own credentials, technicians only",
        form={"configuration": "ccus_card"},
    ),
    Row("GET", "/history", cells(LOGIN, signed_in(403), (TECHNICIANS, 200)), why="one's own 就業履歴"),
    Row("GET", "/certificates", cells(LOGIN, (TECHNICIANS, 200))),
    Row(
        "POST",
        "/certificates/import",
        cells(403, signed_in(LOGIN), (TECHNICIANS, "303→ext")),
        why="to the certificate source, technicians only",
        form={},
    ),
    Row(
        "GET",
        "/certificates/import/callback",
        cells(LOGIN, (TECHNICIANS, 400)),
        why="no import in progress",
        probe="/certificates/import/callback?state=x&code=y",
    ),
    # -- the site gate (OpenID4VP) ----------------------------------------------------------------
    Row(
        "POST",
        "/gate/requests",
        cells(403, gate_prime=200),
        why="only staff of the site's prime run its gate",
        json={"site_id": "{site_id}"},
    ),
    Row(
        "GET",
        "/gate/requests/{request_id}/object",
        anyone(200),
        why="OpenID4VP §5.10: request_uri, fetched by the wallet",
    ),
    Row(
        "POST",
        "/gate/responses/{request_id}",
        anyone(400),
        why="OpenID4VP §8.2 direct_post from the wallet; this one is malformed",
        form={"response": "x"},
    ),
    Row(
        "GET",
        "/gate/requests/{request_id}/result",
        cells(404, gate_prime=200),
        why="the result of one's own site's request only",
    ),
    Row(
        "POST",
        "/gate/events",
        cells(403, (STAFF, "200 recorded=0")),
        why="hole 5: staff may upload, nothing without a presentation of the site's prime is recorded",
        json=[_EVENT],
        detail="recorded",
    ),
    Row(
        "GET",
        "/gate/sync",
        cells(403, gate_prime=200),
        why="the roster bundle is a disclosure to the site's prime only",
        probe="/gate/sync?site_id={site_id}",
    ),
    Row("GET", "/gate/operator", cells(401, (STAFF, 200)), why="who is signed in and which gates they may run"),
    Row(
        "GET",
        "/sites/{site_id}/today",
        cells(403, unsigned(LOGIN), gate_prime=200),
        why="rule 4: the prime contractor's staff only",
    ),
    # -- ending sessions: probed last, in this order ------------------------------------------------
    Row("GET", "/session/end", anyone(200), why="OIDC RP-Initiated Logout §2: the confirmation page", last=True),
    Row("POST", "/session/end", anyone(200), form={}, last=True),
    Row("POST", "/session/end/confirm", cells(403, signed_in("303→/account")), form={}, last=True),
    Row("GET", "/logout", anyone(200), why="a confirmation page; only POST signs out", last=True),
    Row(
        "POST",
        "/account/sessions/{prefix}/revoke",
        cells(403, signed_in("303→/account"), technician_self=LOGIN),
        why="only one's own sessions: T's is ended by T alone",
        form={},
        last=True,
    ),
    Row("POST", "/logout", cells(403, signed_in(200)), form={}, last=True),
]
