"""Japanese-first page texts with English.

Two languages, so a dictionary of (ja, en) pairs is enough; gettext/Babel would add a
catalogue compile step for no gain here.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

LANGS = ("ja", "en")
LANG_COOKIE = "genba_lang"

MESSAGES: dict[str, tuple[str, str]] = {
    "app.name": ("現場ID", "Genba ID"),
    "app.tagline": (
        "建設技能者のための安全なID・同意・資格ウォレット",
        "Secure identity, consent and credentials for construction technicians",
    ),
    "lang.switch": ("English", "日本語"),
    "nav.account": ("マイアカウント", "My account"),
    "nav.signout": ("サインアウト", "Sign out"),
    "nav.signin": ("サインイン", "Sign in"),
    # -- issue 15 item 4: the shared header's way home and each role's section of the home (idp/web/home.py)
    "nav.home": ("ホーム", "Home"),
    "home.technician": ("技能者", "Technician"),
    "home.wallet_app": ("ウォレットを開く", "Open the wallet"),
    "home.employer_admin": ("事業者の管理（{employer}）", "Employer administration ({employer})"),
    "home.employer_staff": ("事業者の担当者（{employer}）", "Employer staff ({employer})"),
    "home.approvals": ("情報提供の承認", "Approve data sharing"),
    "home.approvals_view": ("情報提供の承認状況（閲覧）", "Data-sharing approvals (view)"),
    "home.technicians": ("所属技能者", "Our technicians"),
    "home.technicians_view": ("所属技能者（閲覧）", "Our technicians (view)"),
    "home.gate": ("現場ゲート（元請）", "Site gates (prime contractor)"),
    "home.gate_app": ("ゲートアプリを開く", "Open the gate app"),
    "home.site_today": ("本日の入退場 — {site}", "Today's entries — {site}"),
    "home.operator": ("運営者", "Operator"),
    "home.operator_note": (
        "運営者向けの画面はありません。クライアント・証明書の発行元・鍵の登録は genba コマンドで行います",
        "There are no operator pages: clients, certificate sources and keys are registered with the genba command",
    ),
    "home.no_role": (
        "このアカウントで使える機能はまだありません。運営者にお問い合わせください",
        "Nothing is available to this account yet. Please contact the operator",
    ),
    "signin.title": ("サインイン", "Sign in"),
    "signin.username": ("技能者ID・ログインID・メールアドレス", "Technician ID, login ID or e-mail"),
    "signin.username_hint": (
        "技能者IDは14桁の数字です（カードに記載）",
        "A technician ID is the 14 digits on your card",
    ),
    "signin.password": ("パスワード", "Password"),
    "signin.submit": ("次へ", "Next"),
    "signin.or": ("または", "or"),
    "signin.passkey": ("パスキーでサインイン", "Sign in with a passkey"),
    "signin.failed": ("IDまたはパスワードが正しくありません", "The ID or password is not correct"),
    "signin.throttled": (
        "試行回数が多すぎます。{seconds}秒後にもう一度お試しください",
        "Too many attempts. Please try again in {seconds} seconds",
    ),
    "signin.expired": (
        "サインインの有効期限が切れました。最初からやり直してください",
        "Your sign-in has expired. Please start again",
    ),
    "signin.session_ended": (
        "一定時間操作がなかったため、もう一度サインインしてください",
        "You were signed out after a period of inactivity. Please sign in again",
    ),
    "signin.passkey_failed": ("パスキーを確認できませんでした", "The passkey could not be verified"),
    "otp.title": ("確認コード", "Verification code"),
    "otp.lead": (
        "認証アプリに表示されている6桁のコードを入力してください",
        "Enter the 6-digit code shown in your authenticator app",
    ),
    "otp.code": ("確認コード", "Code"),
    "otp.submit": ("サインイン", "Sign in"),
    "otp.failed": ("コードが正しくないか、既に使われています", "The code is wrong or has already been used"),
    "otp.use_recovery": ("リカバリーコードを使う", "Use a recovery code"),
    "recovery.title": ("リカバリーコード", "Recovery code"),
    "recovery.lead": (
        "保管しているリカバリーコードを1つ入力してください（各コードは1回だけ使えます）",
        "Enter one of your recovery codes (each works once)",
    ),
    "recovery.code": ("リカバリーコード", "Recovery code"),
    "recovery.failed": (
        "リカバリーコードが正しくないか、既に使われています",
        "The recovery code is wrong or already used",
    ),
    "codes.title": ("リカバリーコードを保管してください", "Keep your recovery codes"),
    "codes.lead": (
        "認証アプリを使えなくなったときに使います。この画面は二度と表示されません。印刷するか安全な場所に保管してください",
        "Use one if you lose your authenticator app. This page will not be shown again: print the codes or store them somewhere safe",
    ),
    "codes.continue": ("保管しました。続ける", "I have kept them. Continue"),
    "codes.regenerate": ("リカバリーコードを作り直す", "Make new recovery codes"),
    "codes.remaining": ("残りのリカバリーコード: {count}", "Recovery codes left: {count}"),
    "enrol.title": ("二段階認証の設定", "Set up two-step verification"),
    "enrol.lead": (
        "認証アプリ（Google Authenticator など）でQRコードを読み取り、表示されたコードを入力してください",
        "Scan the QR code with an authenticator app (Google Authenticator, etc.) and enter the code it shows",
    ),
    "enrol.required": (
        "サインインには二段階認証の設定が必要です",
        "Two-step verification must be set up before you can sign in",
    ),
    "enrol.manual": ("QRコードを読み取れない場合はこのキーを入力", "If you cannot scan the QR code, enter this key"),
    "enrol.submit": ("設定する", "Turn on"),
    "enrol.failed": ("コードが正しくありません。もう一度入力してください", "The code is not correct. Please try again"),
    "account.title": ("マイアカウント", "My account"),
    "account.my_data": ("登録情報", "My data"),
    "account.technician_id": ("技能者ID", "Technician ID"),
    "account.employer_id": ("事業者ID", "Employer ID"),
    "account.name": ("氏名", "Name"),
    "account.kana": ("フリガナ", "Name (kana)"),
    "account.birth_date": ("生年月日", "Date of birth"),
    "account.gender": ("性別", "Gender"),
    "account.address": ("住所", "Address"),
    "account.phone": ("電話番号", "Phone"),
    "account.photo": ("顔写真", "Face photo"),
    "account.no_photo": ("未登録", "Not registered"),
    "account.trade_name": ("商号", "Trade name"),
    "account.sole_proprietor": ("一人親方", "Sole proprietor"),
    "account.role": ("権限", "Role"),
    "account.affiliations": ("所属事業者の履歴", "Employers"),
    "account.current": ("現在", "current"),
    "account.security": ("セキュリティ", "Security"),
    "account.totp_on": ("二段階認証（認証アプリ）: 設定済み", "Two-step verification (app): on"),
    "account.totp_off": ("二段階認証（認証アプリ）: 未設定", "Two-step verification (app): off"),
    "account.totp_setup": ("認証アプリを設定する", "Set up authenticator app"),
    "account.totp_replace": ("認証アプリを変更する", "Change authenticator app"),
    "account.passkeys": ("パスキー", "Passkeys"),
    "account.passkey_add": ("このデバイスにパスキーを追加", "Add a passkey on this device"),
    "account.passkey_added": ("パスキーを登録しました", "Passkey registered"),
    "account.passkey_remove": ("削除", "Remove"),
    "account.no_passkeys": ("パスキーは登録されていません", "No passkeys registered"),
    "account.password": ("パスワード変更", "Change password"),
    "account.current_password": ("現在のパスワード", "Current password"),
    "account.new_password": ("新しいパスワード（10文字以上）", "New password (10 characters or more)"),
    "account.password_changed": ("パスワードを変更しました", "Password changed"),
    "account.sessions": ("サインイン中の端末", "Where you are signed in"),
    "account.this_device": ("この端末", "this device"),
    "account.signout_everywhere": ("すべての端末からサインアウト", "Sign out everywhere"),
    "account.signed_in_at": ("サインイン日時", "Signed in"),
    "account.methods": ("認証方法", "Methods"),
    "account.saved": ("保存しました", "Saved"),
    "signout.title": ("サインアウト", "Sign out"),
    "signout.confirm": ("サインアウトしますか？", "Do you want to sign out?"),
    "signout.submit": ("サインアウト", "Sign out"),
    "signout.done": ("サインアウトしました", "You have signed out"),
    "error.title": ("エラー", "Error"),
    "error.back": ("トップへ戻る", "Back to start"),
    "error.not_found": ("ページが見つかりません", "Page not found"),
    "error.internal": (
        "処理中に問題が発生しました。時間をおいてもう一度お試しください",
        "Something went wrong. Please try again later",
    ),
    "error.too_large": ("送信されたデータが大きすぎます", "The request is too large"),
    "home.lead": (
        "サインインすると、登録情報・資格・同意の状況を確認できます",
        "Sign in to see your data, credentials and consents",
    ),
    "consent.title": ("情報提供の確認", "Allow access?"),
    "consent.lead": ("が次の情報へのアクセスを求めています", "is asking for access to"),
    "consent.notice": (
        "許可すると、このシステムは上記の情報を受け取ります。許可はマイアカウントからいつでも取り消せます",
        "If you allow, this system receives the information above. You can withdraw at any time from My account",
    ),
    "consent.remember": ("次回から確認しない", "Remember my choice"),
    "consent.approve": ("許可する", "Allow"),
    "consent.deny": ("許可しない", "Deny"),
    "scope.openid": ("あなたを識別するID（このシステム専用）", "An identifier for you (specific to this system)"),
    "scope.profile": ("氏名・フリガナ・性別・生年月日", "Name, name in kana, gender, date of birth"),
    "scope.email": ("メールアドレス", "E-mail address"),
    "scope.phone": ("電話番号", "Phone number"),
    "scope.address": ("住所", "Address"),
    "scope.offline_access": ("サインアウト中も情報を更新する", "Keep access while you are signed out"),
    "scope.ccus.qualifications": ("保有資格", "Qualifications"),
    "scope.ccus.affiliation": ("現在の所属事業者", "Current employer"),
    "scope.ccus.work_history": ("就業履歴", "Work history"),
    "scope.ccus.attendance": ("勤怠・建退共就労日数", "Attendance and 建退共 days"),
    "details.title": ("CCUS情報の提供", "CCUS data to share"),
    "details.recipient": ("提供先", "Recipient"),
    "details.purpose": ("利用目的", "Purpose"),
    "details.fields": ("提供する項目", "Data"),
    "details.period": ("期間", "Period"),
    "details.employer_note": (
        "あなたが許可した後、所属事業者も同意するまで提供されません。いつでも取り消せます。",
        "Nothing is shared until your employer also approves after you. You can withdraw at any time.",
    ),
    "consent.inbox_title": ("情報提供の同意", "Consents"),
    "consent.inbox_lead": (
        "あなたの情報は、あなたと所属事業者の両方が同意しない限り、他社に提供されません。",
        "Nothing about you goes to another company unless both you and your employer agree.",
    ),
    "consent.pending": ("回答待ちの依頼", "Waiting for your answer"),
    "consent.active": ("同意済み", "Given"),
    "consent.history": ("履歴", "History"),
    "consent.none": ("ありません", "None"),
    "consent.revoke": ("同意を取り消す", "Withdraw"),
    "consent.receipt": ("同意の記録（JSON）", "Consent receipt (JSON)"),
    "consent.records": ("第三者提供の記録をダウンロード", "Download the records of what was shared"),
    "consent.state": ("状態", "State"),
    "consent.waiting_employer": ("所属事業者の同意待ち", "waiting for your employer"),
    "employer.kentaikyo_csv": ("建退共就労日数（先月分・CSV）", "建退共 days, last month (CSV)"),
    "consent.employer_title": ("情報提供の承認（事業者）", "Disclosure approvals (employer)"),
    "consent.technician": ("技能者", "Technician"),
    "consent.select": ("選択", "Select"),
    "consent.bulk_approve": ("選択した依頼をまとめて承認", "Approve selected"),
    "consent.bulk_refuse": ("選択した依頼をまとめて拒否", "Refuse selected"),
    "consent.admin_only": ("承認・拒否は事業者の管理者のみが行えます", "Only an administrator can approve or refuse"),
    "consent.grant_title": ("システムへの提供を開始", "Start sharing with a system"),
    "consent.system": ("提供先システム", "System"),
    "consent.period_end": ("期間の終了日", "End of period"),
    "consent.all_technicians": ("所属する全技能者", "All our technicians"),
    "consent.grant_submit": ("技能者に同意を依頼する", "Ask the technicians"),
    "consent.done_approve": ("承認しました", "Approved"),
    "consent.done_allow": ("許可しました", "Allowed"),
    "consent.revoke_title": ("同意を取り消しますか？", "Withdraw this consent?"),
    "consent.revoke_lead": (
        "取り消すと、次の提供先への情報の提供が止まります。取り消した同意は元に戻せません（必要なら、改めて依頼を受けてください）。",
        "Once withdrawn, nothing more is shared with this recipient. A withdrawn consent cannot be restored (a new request is needed).",
    ),
    "consent.revoke_confirm": ("取り消す", "Withdraw"),
    "consent.revoke_cancel": ("取り消さずに戻る", "Keep it and go back"),
    "consent.done_refuse": ("拒否しました", "Refused"),
    "consent.done_revoke": ("取り消しました", "Withdrawn"),
    "consent.done_grant": ("技能者に依頼しました", "The technicians have been asked"),
    "state.awaiting": ("回答待ち", "Awaiting"),
    "state.active": ("有効", "Active"),
    "state.rejected": ("拒否", "Refused"),
    "state.expired": ("期限切れ", "Expired"),
    "state.revoked": ("取り消し", "Withdrawn"),
    "nav.consent": ("情報提供の同意", "Consents"),
    "certs.title": ("保有資格（講習修了証）", "My certificates"),
    "certs.import": ("マイナポータルから資格を取り込む", "Import from MyNaPortal"),
    "certs.import_lead": (
        "講習の記録を保存している機関からデジタル署名付きで取り込みます。署名・本人確認・失効を確認し、確認できないものは取り込みません。",
        "Records come signed by the record-keeping body; signature, identity and revocation are checked, and anything that fails is not imported.",
    ),
    "certs.none": ("ありません", "None"),
    "certs.status_revoked": ("失効", "revoked"),
    "certs.status_superseded": ("再交付済み（旧）", "reissued (old)"),
    "certs.result_title": ("取り込み結果", "Import result"),
    "certs.imported": ("取り込んだ資格", "Imported"),
    "certs.duplicates": ("{count}件は取り込み済みでした", "{count} were already imported"),
    "certs.rejected": ("取り込まなかった記録", "Not imported"),
    "certs.back": ("保有資格へ戻る", "Back to my certificates"),
    "import.denied": ("マイナポータル側で提供が許可されませんでした", "Sharing was not allowed at MyNaPortal"),
    "import.state": (
        "取り込みの有効期限が切れました。もう一度お試しください",
        "The import expired; please start again",
    ),
    "import.source": (
        "記録の提供元に接続できませんでした。時間をおいてお試しください",
        "The source could not be reached; please try later",
    ),
    "nav.certificates": ("保有資格", "Certificates"),
    "wallet.add_title": ("ウォレットに追加", "Add to your wallet"),
    "wallet.add_lead": (
        "建設キャリアアップカードと取り込んだ資格を、デジタル証明書としてスマートフォンのウォレットに入れます。",
        "Put your CCUS card and imported certificates in your phone's wallet as digital credentials.",
    ),
    "wallet.create": ("追加用のQRコードを作る", "Make the QR code"),
    "wallet.open_here": ("この端末のウォレットで開く", "Open in this device's wallet"),
    "wallet.link": ("ほかのウォレットアプリで開く", "Open in another wallet app"),
    "wallet.tx_code": ("ウォレットで聞かれたらこの確認番号を入力:", "When your wallet asks, enter this code:"),
    "wallet.expires": ("このQRコードは10分間有効で、1回だけ使えます。", "This QR code works once, for 10 minutes."),
    "nav.wallet": ("ウォレットに追加", "Add to wallet"),
    "history.title": ("就業履歴", "Work history"),
    "history.in": ("入場", "In"),
    "history.out": ("退場", "Out"),
    "history.tier": ("{tier}次", "tier {tier}"),
    "history.none": ("記録はありません", "No records"),
    "today.title": ("本日の入場者", "Today on site"),
    "today.company": ("所属", "Company"),
    "nav.history": ("就業履歴", "Work history"),
    "formpost.title": ("リダイレクト中", "Redirecting"),
    "formpost.continue": ("続ける", "Continue"),
    "oautherror.title": ("連携エラー", "Sign-in request error"),
    "oautherror.lead": (
        "連携元のシステムからの要求に問題があるため続行できません。システムの管理者にお問い合わせください",
        "The request from the other system cannot be processed. Please contact that system's administrator",
    ),
    "logout.rp_title": ("サインアウトの確認", "Sign out"),
    "logout.rp_lead": ("現場IDからサインアウトしますか？", "Do you want to sign out of Genba ID?"),
    "logout.rp_client": ("サインアウト後、次のシステムに戻ります", "After signing out you return to"),
    "logout.rp_yes": ("サインアウトする", "Sign out"),
    "logout.rp_no": ("サインアウトしない", "Stay signed in"),
    "gender.male": ("男性", "Male"),
    "gender.female": ("女性", "Female"),
    "gender.other": ("その他", "Other"),
    "gender.unspecified": ("回答しない", "Not stated"),
    "role.admin": ("管理者", "Administrator"),
    "role.staff": ("担当者", "Staff"),
    # -- issue 12 (helper claims): the consent screen as the engine decides it, the employer's
    # contact substitution page (rule 3). One block, to keep merges easy.
    "scope.ccus_card": ("建設キャリアアップカード（ウォレット用）", "CCUS technician card (for your wallet)"),
    "scope.skill_training_certificate": (
        "技能講習・特別教育修了証（ウォレット用）",
        "Skill-training certificates (for your wallet)",
    ),
    "release.own_employer": (
        "このシステムはあなたの所属事業者（{employer}）のものです",
        "This system belongs to your employer ({employer})",
    ),
    "release.now_title": ("許可すると、すぐに提供される項目", "Shared as soon as you allow"),
    "release.waiting_title": (
        "あなたが許可し、所属事業者も同意した後に提供される項目",
        "Shared once you allow and your employer also approves",
    ),
    "release.withheld_title": ("求められていますが、提供されない項目", "Asked for, but not shared"),
    "release.notice": (
        "このシステムに提供されるのは、上に「提供される」と示した項目だけです",
        "This system receives only the data shown above as shared",
    ),
    "credential.title": ("ウォレットに保存する証明書", "Credentials for your wallet"),
    "credential.lead": (
        "許可すると、次の証明書がウォレットアプリ「{wallet}」に保存されます",
        "If you allow, these credentials go into the wallet app “{wallet}”",
    ),
    "employer.title": ("所属技能者の連絡先", "Our technicians' contact details"),
    "employer.lead": (
        "技能者の住所・電話番号の代わりに、会社の住所・電話番号を提供先に示すことができます（引き抜き防止）",
        "You can have the company's address and phone shown instead of a technician's (against poaching)",
    ),
    "employer.company_address": ("会社の住所", "Company address"),
    "employer.company_phone": ("会社の電話番号", "Company phone"),
    "employer.default": ("全技能者の既定", "Default for all technicians"),
    "employer.technicians": ("技能者ごとの設定", "Per technician"),
    "employer.company_contact": ("会社の連絡先を示す", "Show the company's contact"),
    "employer.own_contact": ("本人の連絡先を示す", "Show the technician's own contact"),
    "employer.follow_default": ("既定に従う", "Follow the default"),
    "employer.by_default": ("（既定）", "(default)"),
    "employer.saved": ("保存しました", "Saved"),
    "employer.admin_only": ("変更できるのは事業者の管理者のみです", "Only an administrator can change this"),
    "employer.bad_value": ("設定の値が正しくありません", "The setting is not valid"),
    # the employer page's revoking actions (register/employer_affiliation.py, register/employer_systems.py)
    "employer.last_day": ("最終所属日", "Last day"),
    "employer.end": ("所属を終了", "End the affiliation"),
    "employer.end_title": ("所属の終了", "Ending an affiliation"),
    "employer.end_lead": (
        "{name}（{technician_id}）の所属を {end_date} で終了します。翌日から貴社は所属事業者として"
        "この技能者の情報を見られなくなり、貴社のシステムへの提供も止まります",
        "The affiliation of {name} ({technician_id}) ends on {end_date}. From the next day your company no "
        "longer sees this technician as employer, and its systems receive nothing about them",
    ),
    "employer.affiliation_ended": ("所属を終了しました", "The affiliation has ended"),
    "employer.systems": ("自社のシステム", "Our systems"),
    "employer.no_systems": ("登録されたシステムはありません", "No system is registered"),
    "employer.rotate": ("シークレットを再発行", "Issue a new secret"),
    "employer.rotate_title": ("クライアントシークレットの再発行", "A new client secret"),
    "employer.rotate_lead": (
        "{name}（{client_id}）のクライアントシークレットを再発行します。今のシークレットはすぐに使えなくなり、"
        "新しいシークレットを設定するまでこのシステムは動きません",
        "A new client secret for {name} ({client_id}). The current one stops working at once, and the system "
        "does not work until the new one is configured",
    ),
    "employer.secret_title": ("新しいクライアントシークレット", "The new client secret"),
    "employer.secret_lead": (
        "この画面を閉じると二度と表示されません。システムに設定してください",
        "It is shown only now: configure it in the system before you leave this page",
    ),
    "employer.secret_label": ("クライアントシークレット", "Client secret"),
    "employer.back": ("所属技能者のページに戻る", "Back to our technicians"),
    "employer.cancel": ("やめる", "Cancel"),
}


def pick_language(request: Request) -> str:
    """``?lang=`` wins, then the language cookie, then Japanese."""
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked
    cookie = request.cookies.get(LANG_COOKIE)
    return cookie if cookie in LANGS else "ja"


def translator(lang: str) -> Callable[..., str]:
    index = LANGS.index(lang)

    def t(key: str, **values: object) -> str:
        pair = MESSAGES.get(key)
        text = pair[index] if pair else key
        return text.format(**values) if values else text

    return t
