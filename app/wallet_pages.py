"""「ウォレットに追加」: a signed-in technician gets a credential offer for their CCUS card and imported
certificates (QR code and link to the web wallet), with the tx_code shown separately."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from idp.public import CSRF_FIELD, Csrf, DbDep, RuntimeDep, UserDep, read_form, render, technician_for_account
from wallet.credentials import CARD, CERTIFICATE
from wallet.offers import create_offer

router = APIRouter()


@router.get("/wallet/add", response_class=HTMLResponse)
def wallet_add_page(request: Request, runtime: RuntimeDep, user: UserDep) -> Response:
    if user is None:
        return RedirectResponse("/login?next=/wallet/add", status_code=303)
    return render(request, runtime, "wallet_add.html", {"offer": None})


@router.post("/wallet/add", response_class=HTMLResponse)
async def wallet_add(request: Request, runtime: RuntimeDep, db: DbDep, user: UserDep) -> Response:
    form = await read_form(request)
    Csrf(runtime.config, runtime.rng).check(request, form.get(CSRF_FIELD))
    if user is None or user.account.id is None:
        return RedirectResponse("/login?next=/wallet/add", status_code=303)
    technician = technician_for_account(session=db, account_id=user.account.id)
    if technician is None:
        return render(request, runtime, "error.html", {"message": "技能者のみ / technicians only"}, status=403)
    wallet = request.app.state.wallet
    with Session(wallet.engine) as session:
        offer = create_offer(
            session, wallet, technician_id=technician.technician_id, configuration_ids=[CARD, CERTIFICATE]
        )
        session.commit()
    app_link = "/wallet/app#offer=" + quote(offer.offer_uri, safe="")
    return render(request, runtime, "wallet_add.html", {"offer": offer, "app_link": app_link})
