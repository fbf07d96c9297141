"""Rotating a company system's client secret from the employer page (RFC 6749 §2.3.1; issue 14,
"refused at once").

The employer page lists the company's own systems (``register.owners.systems_of``, 自社のシステム).
``POST /employer/systems/rotate-secret`` (a form with its CSRF token and ``client_id``) first asks
for confirmation — the system stops working until its new secret is configured — and, sent again
with ``confirm=yes``, makes the new secret with the operator's own function
(``idp.oauth.public.rotate_client_secret``, stored as SHA-256 only) and shows it once, on a page that
is not stored (``Cache-Control: no-store``). When the page answers, every worker refuses the old
secret (the write-side fence, docs/operations.md "Worker caches").

Only an administrator of the company that owns the system may: a system of another company, or one
that is disabled or unknown, is answered as unknown (404) whatever it is, so the form reveals nothing
about other companies' systems. Each rotation is audited (``client.secret_rotated``; never the secret).
"""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from common.messages import message
from idp.models import Employer, OAuthClient
from idp.oauth.public import rotate_client_secret
from idp.public import DbDep, IdpRuntime, RuntimeDep, SignedIn, UserDep, render
from idp.public import record_audit_event as audit
from register.employer_pages import admin_action

router = APIRouter()
EVENT = "client.secret_rotated"
PAGE = "/employer/technicians"


@router.post("/employer/systems/rotate-secret", response_class=HTMLResponse)
async def rotate_secret(request: Request, runtime: RuntimeDep, db: DbDep, user: UserDep) -> Response:
    """Confirm, then rotate: ``client_id`` names one of the company's own systems."""
    return await admin_action(request, runtime, db, user, partial(_rotate, request, runtime, db))


def _rotate(
    request: Request, runtime: IdpRuntime, db: DbDep, form: dict[str, str], employer: Employer, user: SignedIn
) -> Response:
    client = db.get(OAuthClient, form.get("client_id", ""))
    if client is None or client.owner_employer_pk != employer.id or client.disabled:
        unknown = message("page.not_own_system").bilingual()
        return render(request, runtime, "error.html", {"message": unknown}, status=404)
    if client.client_secret_hash is None:
        problem = message("field.client_without_secret").prefixed("client_id").bilingual()
        return render(request, runtime, "error.html", {"message": problem}, status=400)
    if form.get("confirm") != "yes":
        return render(
            request,
            runtime,
            "employer_confirm.html",
            {
                "title_key": "employer.rotate_title",
                "lead_key": "employer.rotate_lead",
                "values": {"name": client.client_name, "client_id": client.client_id},
                "action": "/employer/systems/rotate-secret",
                "fields": {"client_id": client.client_id},
                "button_key": "employer.rotate",
            },
        )
    secret = rotate_client_secret(session=db, client_id=client.client_id, rng=runtime.rng)
    audit(
        session=db,
        event=EVENT,
        outcome="success",
        now=runtime.clock(),
        account_id=user.account.id,
        detail={"client_id": client.client_id, "employer_id": employer.employer_id},
    )
    db.commit()
    return render(request, runtime, "employer_secret.html", {"client": client, "secret": secret})
