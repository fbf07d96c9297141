"""The message catalogue of Genba ID's errors: one (Japanese, English) pair per key (issue 13 item 2).

Errors take their text from here (``message("token.invalid")``) rather than carrying literals of
their own, so one reason reads the same wherever it is raised and the two languages stay side by
side. Keys are ``area.reason``; the area usually names the error family (``token`` RFC 6750 §3.1,
``field`` input validation, ``form`` form parsing, ``consent`` consent refusals, ``credential``
the gate's verification, ``api`` the data API, ``page`` the error page). Placeholders are
:meth:`str.format` fields filled by :func:`message`.

Page texts that are not errors live with the pages (``idp/web/i18n.py``); this catalogue is in
``common`` because every package may import it (``common`` imports no other project package).
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Message(NamedTuple):
    """One reason in Japanese and English."""

    ja: str
    en: str

    def bilingual(self) -> str:
        """``ja / en``: the one line the data API and the CLI show."""
        return f"{self.ja} / {self.en}"

    def prefixed(self, field: str) -> Message:
        """``field: …`` in both languages (a field problem's page and CLI line)."""
        return Message(f"{field}: {self.ja}", f"{field}: {self.en}")

    @classmethod
    def untranslated(cls, en: str) -> Message:
        """English-only text not in the catalogue (a protocol description): both sides read the same."""
        return cls(en, en)


CATALOGUE: dict[str, Message] = {
    # RFC 6750 §3.1 / RFC 9449 §7.1: the protected resource refuses the access token
    "token.invalid": Message("アクセストークンが無効です", "the access token is not valid"),
    "token.required": Message("アクセストークンが必要です", "an access token is required"),
    "token.dpop_scheme": Message(
        "DPoPに結び付いたトークンにはDPoP方式と証明が必要です", "DPoP-bound tokens need the DPoP scheme and a proof"
    ),
    "token.proof_key": Message("証明の鍵がトークンの鍵と一致しません", "the proof key is not the token's key"),
    "token.malformed_header": Message(
        "Authorization ヘッダーの形式が正しくありません", "malformed Authorization header"
    ),
    "token.two_ways": Message(
        "アクセストークンの送り方は1つにしてください", "use only one way to send the access token"
    ),
    "token.no_openid": Message("トークンに openid スコープがありません", "the token lacks the openid scope"),
    "token.not_technician": Message(
        "このトークンは技能者のものではありません", "this token does not belong to a technician"
    ),
    "token.not_for_technician": Message(
        "このアクセストークンは技能者のものではありません", "the access token is not for a technician"
    ),
    # the HTTP server refusing a request before the application reads it
    "http.body_too_large": Message("送信されたデータが大きすぎます", "request body too large"),
    "http.head_too_large": Message("リクエストヘッダーが大きすぎます", "request head too large"),
    # the data API (/api/v1)
    "api.nothing_disclosed": Message("開示できる項目がありません", "nothing may be disclosed"),
    "api.employer_admin_only": Message("この事業者の管理者のみが変更できます", "only this employer's administrator"),
    "api.no_technician": Message("技能者が見つかりません", "no such technician"),
    "api.no_site": Message("現場が見つかりません", "no such site"),
    "api.no_consent_request": Message("同意依頼が見つかりません", "no such consent request"),
    "api.default_needs_value": Message(
        "既定値は true か false で指定してください", "enabled must be true or false for the default"
    ),
    # the error page (and its JSON twin for clients asking for JSON)
    "page.bad_request": Message("入力が正しくありません", "the request is not valid"),
    "page.not_found": Message("ページが見つかりません", "page not found"),
    "page.method_not_allowed": Message(
        "このアドレスは直接開けません。元のページからやり直してください",
        "this address cannot be opened directly; please start again from its page",
    ),
    "page.unexpected": Message("処理中に問題が発生しました", "something went wrong; please try again later"),
    "page.unavailable": Message(
        "ただいまサービスを利用できません", "the service is unavailable; please try again later"
    ),
    "page.not_own_system": Message("貴社のシステムではありません", "not one of your company's systems"),
    "page.cannot_sign": Message("ただいま署名できません", "the service cannot sign right now"),
    # reading a submitted form (idp.web.forms)
    "form.content_type": Message("フォームの形式が正しくありません", "expected {expected}"),
    "form.not_utf8": Message("文字コードが正しくありません (UTF-8 のみ)", "the form is not valid UTF-8"),
    "form.too_many_fields": Message("項目が多すぎます", "too many form fields"),
    "form.repeated": Message("項目 {key} が重複しています", "field {key!r} is repeated"),
    "form.too_long": Message("項目 {key} が長すぎます", "field {key!r} is too long"),
    "form.nul": Message("使用できない文字が含まれています", "the form contains a NUL character"),
    "form.csrf": Message(
        "フォームの有効期限が切れました。もう一度お試しください",
        "the form has expired or was not sent from this site (CSRF check failed); please try again",
    ),
    # one input field (idp.validation.FieldProblem)
    "field.not_text": Message("文字列ではありません", "must be text"),
    "field.required": Message("入力してください", "is required"),
    "field.control_characters": Message("制御文字は使えません", "must not contain control characters"),
    "field.too_long": Message("{max_length}文字以内で入力してください", "must be at most {max_length} characters"),
    "field.fourteen_digits": Message("14桁の数字で入力してください", "must be exactly 14 digits"),
    "field.katakana": Message("全角カタカナで入力してください", "must be katakana"),
    "field.phone": Message("電話番号の形式が正しくありません", "is not a phone number"),
    "field.email": Message("メールアドレスの形式が正しくありません", "is not an e-mail address"),
    "field.staff_login": Message("英小文字・数字・._- で入力してください", "must be lower-case letters, digits, . _ -"),
    "field.future_date": Message("未来の日付は指定できません", "must not be in the future"),
    "field.ancient_date": Message("日付が古すぎます", "is too far in the past"),
    "field.date_format": Message("日付は YYYY-MM-DD で入力してください", "must be a date YYYY-MM-DD"),
    "field.immutable": Message("登録後は変更できません", "cannot be changed after registration"),
    "field.already_registered": Message("既に登録されています", "is already registered"),
    "field.photo_size": Message("2MB以下の画像にしてください", "must be at most 2 MB"),
    "field.photo_type": Message("JPEG または PNG の画像にしてください", "must be a JPEG or PNG image"),
    "field.gender": Message(
        "male/female/other/unspecified のいずれかです", "must be male, female, other or unspecified"
    ),
    "field.unknown_employer": Message("登録されていない事業者IDです", "is not a registered employer"),
    "field.unknown_technician": Message("登録されていない技能者IDです", "is not a registered technician"),
    "field.staff_role": Message("admin または staff です", "must be admin or staff"),
    "field.login_letter": Message("英字で始めてください", "must start with a letter"),
    "field.already_employer": Message("既にこの事業者に所属しています", "is already the current employer"),
    "field.start_after_current": Message(
        "現在の所属開始日より後にしてください", "must be after the current affiliation's start"
    ),
    "field.no_affiliation": Message("現在の所属がありません", "has no current affiliation"),
    "field.unknown_client": Message("登録されていないクライアントです", "is not a registered client"),
    "field.not_operator": Message("運営者として登録されていません", "is not a registered operator"),
    "field.client_without_secret": Message("シークレットを持たないクライアントです", "is a client without a secret"),
    "field.unknown_grant": Message("そのグラントはありません", "is not a grant of this provider"),
    "field.not_access_token": Message("アクセストークンではありません", "is not a JWT access token"),
    "field.end_before_start": Message("所属開始日より前です", "is before the affiliation's start"),
    "field.password_short": Message("{length}文字以上にしてください", "must be at least {length} characters"),
    "field.password_long": Message("{length}文字以内にしてください", "must be at most {length} characters"),
    "field.password_guessable": Message("推測されやすいパスワードです", "is too easy to guess"),
    "field.otp_wrong": Message("確認コードが正しくありません", "the code is not correct"),
    "field.current_password_wrong": Message("現在のパスワードが違います", "the current password is wrong"),
    "field.uri_malformed": Message("URIの形式が正しくありません", "is not a well-formed absolute URI: {uri}"),
    "field.uri_fragment": Message("フラグメントは使えません", "must not contain a fragment"),
    "field.uri_https": Message(
        "https のURIを指定してください（ループバックを除く）", "must be https (or loopback http): {uri}"
    ),
    "field.client_type": Message("confidential か public です", "must be confidential or public"),
    "field.grant_type": Message("対応していないグラント種別です", "unsupported grant type {grant!r}"),
    "field.auth_method": Message("対応していない認証方式です", "unsupported method {method!r}"),
    "field.public_auth_method": Message(
        "public クライアントは none または attest_jwt_client_auth のみです",
        "public clients use 'none' or 'attest_jwt_client_auth'; confidential clients must authenticate",
    ),
    "field.wallet_client_credentials": Message(
        "ウォレットは client_credentials を使えません",
        "a holder's wallet acts for its holder only and cannot use client_credentials",
    ),
    "field.public_client_credentials": Message(
        "public クライアントは client_credentials を使えません", "public clients cannot use client_credentials"
    ),
    "field.jwks_needed": Message("private_key_jwt には公開鍵 (jwks) が必要です", "private_key_jwt needs a jwks"),
    "field.redirect_uri_needed": Message("リダイレクトURIが必要です", "at least one redirect URI is required"),
    "field.subject_type": Message("public か pairwise です", "must be public or pairwise"),
    "field.sector_needed": Message(
        "リダイレクト先のホストが複数ある場合はセクターを指定してください",
        "pairwise clients with several redirect hosts need a sector identifier (OIDC Core §8.1)",
    ),
    "field.id_token_alg": Message(
        "対応していないアルゴリズムです", "must be one of {algs} (unsigned ID tokens are not issued)"
    ),
    "field.unsupported_alg": Message("対応していないアルゴリズムです", "unsupported algorithm"),
    "field.scope_not_offered": Message("提供していないスコープです", "scope {scope!r} is not offered"),
    "field.internal_address": Message(
        "内部・ループバック・プライベートアドレスには送信しません", "the provider does not call this address ({reason})"
    ),
    "field.not_current_technician": Message(
        "この事業者に現在所属する技能者ではありません", "is not a current technician of this employer"
    ),
    "field.owner_both": Message(
        "所属事業者と発注者の両方を所有者にはできません", "a client belongs to a company or to an orderer, not both"
    ),
    "field.owner_unknown_employer": Message("登録されていない事業者IDです", "not a registered employer"),
    "field.owner_unknown_orderer": Message("登録されていない発注者です", "not a registered orderer"),
    "field.employer_id_unknown": Message("登録されていない事業者IDです", "{employer_id} is not a registered employer"),
    "field.technician_id_unknown": Message("登録されていない技能者IDです", "{technician_id} is not registered"),
    "field.level": Message("レベルは1〜4です", "level must be 1 to 4"),
    "field.insurance": Message("加入状況の値が正しくありません", "must be one of {values}"),
    "field.unknown_field": Message("不明な項目です", "unknown field"),
    "field.unknown_orderer": Message("登録されていない発注者です", "unknown orderer"),
    "field.unknown_site": Message("登録されていない現場です", "unknown site"),
    "field.parent_not_on_site": Message("上位の会社がこの現場にいません", "the parent is not on this site"),
    "field.company_not_on_site": Message("この会社は現場の施工体制にいません", "the company is not on this site"),
    "field.not_assigned": Message("この現場に配置されていません", "not assigned to this site"),
    "field.end_before_assignment": Message("終了日が配置の開始日より前です", "the end is before the assignment starts"),
    # consent refusals (consent.ports.ConsentError), keyed by their stable code
    # the consent engine's refusals (consent/service/transitions.py)
    "consent.purpose_required": Message("利用目的を入力してください", "a purpose is required"),
    "consent.purpose_invalid": Message(
        "利用目的が長すぎるか制御文字を含みます", "the purpose is too long or contains control characters"
    ),
    "consent.unknown_group": Message("不明な項目グループです", "unknown field groups: {groups}"),
    "consent.unknown_groups": Message("不明な項目グループがあります", "unknown or no field groups"),
    "consent.bad_period": Message(
        "期間が過去か、終了日が開始日より前です", "the period must not be in the past and must end after it starts"
    ),
    "consent.period_too_long": Message("期間が長すぎます（最長2年）", "the period is longer than 2 years"),
    "consent.not_employer": Message(
        "自社の技能者のみを対象にできます", "an employer can start grants only for its own technicians"
    ),
    "consent.no_technicians": Message("対象の技能者を指定してください", "name between 1 and 10,000 technicians"),
    "consent.unknown_requester": Message("依頼者が登録されていません", "the requester is not registered"),
    "consent.unknown_technicians": Message("登録されていない技能者IDがあります", "unknown technicians: {ids}"),
    "consent.not_found": Message("同意依頼が見つかりません", "no such consent request"),
    "consent.expired": Message("期限切れの依頼です", "the request has expired"),
    "consent.closed_as": Message("この依頼は終了しています", "the request is {state}"),
    "consent.already_decided": Message("既に回答済みです", "this party has already decided"),
    "consent.already_revoked": Message("既に取り消されています", "already revoked"),
    "consent.widening": Message(
        "項目や期間を広げるには新しい同意が必要です", "widening fields or period needs a new request and new approval"
    ),
    "consent.bad_new_end": Message(
        "終了日が過去か開始日より前です", "the new end date is in the past or before the start"
    ),
    "consent.closed": Message("この依頼は終了しています", "the request is closed"),
    "consent.login_required": Message("サインインしてください", "please sign in"),
    "consent.not_current_employer": Message(
        "現在の所属事業者ではありません", "only the technician's current employer can decide"
    ),
    "consent.not_admin": Message(
        "事業者の管理者のみが同意できます", "only an employer administrator can decide on disclosures"
    ),
    "consent.not_a_party": Message(
        "この同意の当事者ではありません", "only the technician or the current employer can decide"
    ),
    "consent.no_such_side": Message(
        "依頼者は技能者（technician）か所属事業者（employer）です",
        "the request comes from the technician or the employer (technician|employer)",
    ),
    "consent.reference_required": Message(
        "書面による依頼の受付番号などを入力してください（200文字以内）",
        "give the reference of the written request (at most 200 characters)",
    ),
    # the gate's verification of a presented credential (wallet.verifier.VerificationError)
    "credential.no_chain": Message("発行者の証明書がありません", "the credential has no issuer certificate"),
    "credential.untrusted_issuer": Message("信頼できない発行者です", "untrusted issuer ({reason})"),
    "credential.not_from_root": Message("信頼できない発行者です", "the issuer certificate is not from the root"),
    "credential.no_issuer_key": Message("信頼できない発行者です", "no trusted issuer key"),
    "credential.no_issuer": Message("読み取れない資格情報です", "the credential has no issuer"),
    "credential.tampered": Message("資格情報が改ざんされているか形式が正しくありません", "{reason}"),
    "credential.unreadable": Message("読み取れない資格情報です", "the credential cannot be read"),
    "credential.expired": Message("資格情報の有効期限が切れています", "the credential has expired"),
    "credential.no_holder_key": Message("本人確認用の鍵がありません", "the credential is not bound to a holder key"),
    "credential.holder_binding": Message("提示した本人の確認に失敗しました", "{reason}"),
    "credential.no_iat": Message("読み取れない資格情報です", "the credential has no issue time (iat)"),
    "credential.future_iat": Message("発行日時が未来の資格情報です", "the credential is dated in the future"),
    "credential.outside_key_period": Message(
        "信頼できない発行者です（署名鍵の使用期間外に発行されています）",
        "the credential is dated outside its signing key's use period (retired or backdated key)",
    ),
    "credential.status_signature": Message("失効情報の署名が正しくありません", "the status list does not verify"),
    "credential.status_not_ours": Message("失効情報が正しくありません", "the status list is not this credential's"),
    "credential.status_unreadable": Message("失効情報が読み取れません", "the status list cannot be read"),
    "credential.status_stale": Message(
        "失効情報が古いため確認できません（同期してください）", "the status list is too old to trust; sync the gate"
    ),
    "credential.revoked": Message("資格情報は失効しています", "the credential has been revoked"),
    "credential.suspended": Message("資格情報は一時停止中です", "the credential is suspended"),
    "credential.status_missing": Message(
        "失効情報がありません（同期してください）", "no status list for this credential; sync the gate"
    ),
    "credential.status_signer_unknown": Message("失効情報の発行者が不明です", "unknown status list signer"),
}


def message(key: str, /, **params: Any) -> Message:
    """The catalogue's ``key`` with ``params`` filled into both languages (``KeyError`` for a key
    the catalogue lacks: a typo fails the first test that reaches it, not a user)."""
    ja, en = CATALOGUE[key]
    if params:
        return Message(ja.format(**params), en.format(**params))
    return Message(ja, en)


__all__ = ["CATALOGUE", "Message", "message"]
