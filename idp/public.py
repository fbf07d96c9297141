"""The identity provider's public face: everything the rest of Genba ID may use of ``idp`` (issue 13
item 3, "idp has a public face": the register reaches idp only through it, and ``app``, the one place
that wires idp to the rest, does too; docs/architecture.md, "Dependency direction and the import
contracts").

``app`` and ``register`` import from here, from :mod:`idp.oauth.public` (the OpenID provider's face)
and from :mod:`idp.models` (the SQLModel tables and column types: shared vocabulary, public as a
module). Every other idp module is internal; the import-linter contract "app and register reach idp
only through its public face" (pyproject.toml) forbids importing one directly, so an idp module can
be split, renamed or rewritten without touching its users, and what idp promises is this list.

Why a module of its own and not ``idp/__init__.py``: Python runs a package's ``__init__`` before
any of its modules, so re-exporting there would load the whole provider for every ``idp.x`` import
(tried: ``import idp.validation`` went from 74 modules and 0.01 s to 1,182 modules and 1.8 s, so every
migration and unit test would pay for FastAPI, authlib and the pages), and it would only work while
no idp module writes ``from idp import <a re-exported name>``: such a line meets a half-initialised
package whenever ``idp.models`` or another idp module is imported first (idp -> idp.public ->
idp.accounts -> ... -> idp). Here no idp module imports the face.

The face is lazy (PEP 562 module ``__getattr__``): a name is imported from its home module when
first asked for, so a caller pays for what it uses. Importing every home at once would add the pages,
authlib, webauthn and redis (about 330 modules) to every ``genba`` command, ``genba gate verify``
included, which needs only the clock. :data:`_HOMES` is the face at run time, the imports under
``TYPE_CHECKING`` the same list for mypy and import-linter; tests/unit/idp/test_public_face.py keeps
the two and ``__all__`` equal.

What each name is for, by who needs it:

Accounts (the register's people and companies; docs/domain.md "Facts about records"; keyword-only
repository functions, docs/architecture.md "Conventions the code keeps"): :func:`create_technician`,
:func:`create_employer`, :func:`create_staff`, :func:`create_operator`, :func:`link_affiliation` and
:func:`end_affiliation` are
how the CLI, the demo and benchmarks add people (birth date and face photo fixed at registration);
:func:`find_technician`, :func:`find_employer`, :func:`find_login_account`,
:func:`technician_for_account`, :func:`staff_for_account` and :func:`affiliation_history` are how pages,
the register and the wallet's holder lookup find them (docs/domain.md rule 1: the register decides what
of them leaves, not idp).

Validation (issue 2, "Bad input"): :class:`FieldProblem` is the one error every page, the CLI and the
data API show in Japanese and English; :func:`clean_text`, :func:`normalise_14_digit_id` (技能者ID and
事業者ID are 14 digits, full-width normalised) and :func:`parse_date` are the checks the register and
the CLI apply to what people type.

Audit (docs/domain.md rules 6 and 7): :class:`AuditEvents` and :func:`record_audit_event`
(``idp.audit.record``) write a security event; a detail key that could carry a secret is refused.

Sign-in credentials (docs/domain.md rule 7: strong authentication; RFC 6238, RFC 9106):
:class:`Passwords` (argon2id), :func:`enrol_totp_directly` (an operator or the demo enrols a second
factor) and :func:`current_totp_code` (the demo shows the code its accounts would type).

Host and secrets (clock and randomness are injected: docs/architecture.md "Conventions the code keeps"):
:data:`Clock`, :class:`Randomness`, :class:`SystemRandomness`, :func:`system_clock`, :class:`IdpConfig`,
:class:`ThrottleRule`; :class:`SecretBox`, :class:`SecretBoxError` and :func:`derive_key` (AES-256-GCM
at rest, one HKDF key per purpose).

Sign-in machinery the application builds once (NIST SP 800-63B §5.2.2, issue 12 hole 4; OWASP
Session Management): :class:`SessionStore`, :class:`SignIn`, :class:`KnownDevices`, :class:`Throttle`
and :class:`RedisThrottle` (the two :class:`Throttler` stores), :class:`ThrottleSubject` (the keys the
application's request limits share with sign-in throttling).

Housekeeping (docs/operations.md "Anonymous requests and expired rows"): :class:`Expired` and
:func:`expired_rows` (``idp.purge.expired``): which of the provider's rows are dead, for
``app/housekeeping.py`` to delete with the wallet's.

Pages (Japanese first, CSRF on every form: OWASP "Signed Double-Submit Cookie", issue 12 item 8):
:func:`build_router` (the provider's routes), :class:`IdpRuntime` with the ``Annotated`` dependencies
:data:`RuntimeDep`, :data:`DbDep`, :data:`UserDep` and :class:`SignedIn`; :class:`Csrf`,
:data:`CSRF_FIELD`, :func:`read_form` and :class:`BadForm` (strict form parsing); :func:`render`,
:func:`make_templates` and :data:`MESSAGES` (the pages' bilingual messages), so the register's and
the wallet's pages look and defend themselves like idp's. :class:`HomeSection`, :class:`HomeAction`
and :data:`SectionSource`: the home's section of a role only the application knows (gate staff; issue 15
item 4), which it gives to the runtime it builds (``IdpRuntime.home_sections``).

Exports and notices: :func:`write_csv` (every CSV the service writes, against formula injection,
OWASP "CSV Injection"); :class:`Preview`, :class:`Credential`, :class:`Waiting`, :class:`Withheld` and
the port :class:`ReleasePreviewer`: the authorization page's notice (ISO/IEC 29184 §5.3) that the
register fills through the port the application wires.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from idp.lazy_face import lazy_attributes

if TYPE_CHECKING:
    from idp.accounts import (
        affiliation_history,
        create_employer,
        create_operator,
        create_staff,
        create_technician,
        end_affiliation,
        find_employer,
        find_login_account,
        find_technician,
        link_affiliation,
        staff_for_account,
        technician_for_account,
    )
    from idp.audit import AuditEvents
    from idp.audit import record as record_audit_event
    from idp.consent_notice import Credential, Preview, ReleasePreviewer, Waiting, Withheld
    from idp.csv_export import write_csv
    from idp.enrolment import enrol_totp_directly
    from idp.known_devices import KnownDevices
    from idp.passwords import Passwords
    from idp.purge import Expired
    from idp.purge import expired as expired_rows
    from idp.runtime import Clock, IdpConfig, Randomness, SystemRandomness, ThrottleRule, system_clock
    from idp.secretbox import SecretBox, SecretBoxError, derive_key
    from idp.sessions import SessionStore
    from idp.signin import SignIn
    from idp.throttle import Throttle, Throttler, ThrottleSubject
    from idp.throttle_redis import RedisThrottle
    from idp.totp import current_code as current_totp_code
    from idp.validation import FieldProblem, clean_text, normalise_14_digit_id, parse_date
    from idp.web import build_router
    from idp.web.deps import DbDep, IdpRuntime, RuntimeDep, SignedIn, UserDep
    from idp.web.forms import CSRF_FIELD, BadForm, Csrf, read_form
    from idp.web.home import HomeAction, HomeSection, SectionSource
    from idp.web.i18n import MESSAGES
    from idp.web.render import make_templates, render

__all__ = [
    "CSRF_FIELD",
    "MESSAGES",
    "AuditEvents",
    "BadForm",
    "Clock",
    "Credential",
    "Csrf",
    "DbDep",
    "Expired",
    "FieldProblem",
    "HomeAction",
    "HomeSection",
    "IdpConfig",
    "IdpRuntime",
    "KnownDevices",
    "Passwords",
    "Preview",
    "Randomness",
    "RedisThrottle",
    "ReleasePreviewer",
    "RuntimeDep",
    "SecretBox",
    "SecretBoxError",
    "SectionSource",
    "SessionStore",
    "SignIn",
    "SignedIn",
    "SystemRandomness",
    "Throttle",
    "ThrottleRule",
    "ThrottleSubject",
    "Throttler",
    "UserDep",
    "Waiting",
    "Withheld",
    "affiliation_history",
    "build_router",
    "clean_text",
    "create_employer",
    "create_operator",
    "create_staff",
    "create_technician",
    "current_totp_code",
    "derive_key",
    "end_affiliation",
    "enrol_totp_directly",
    "expired_rows",
    "find_employer",
    "find_login_account",
    "find_technician",
    "link_affiliation",
    "make_templates",
    "normalise_14_digit_id",
    "parse_date",
    "read_form",
    "record_audit_event",
    "render",
    "staff_for_account",
    "system_clock",
    "technician_for_account",
    "write_csv",
]

#: each name of the face and its home, ``module`` or ``module:name`` where the face renames it
_HOMES: dict[str, str] = {
    # accounts
    "affiliation_history": "idp.accounts",
    "create_employer": "idp.accounts",
    "create_operator": "idp.accounts",
    "create_staff": "idp.accounts",
    "create_technician": "idp.accounts",
    "find_employer": "idp.accounts",
    "find_login_account": "idp.accounts",
    "find_technician": "idp.accounts",
    "end_affiliation": "idp.accounts",
    "link_affiliation": "idp.accounts",
    "staff_for_account": "idp.accounts",
    "technician_for_account": "idp.accounts",
    # validation
    "FieldProblem": "idp.validation",
    "clean_text": "idp.validation",
    "normalise_14_digit_id": "idp.validation",
    "parse_date": "idp.validation",
    # audit
    "AuditEvents": "idp.audit",
    "record_audit_event": "idp.audit:record",
    # sign-in credentials
    "Passwords": "idp.passwords",
    "current_totp_code": "idp.totp:current_code",
    "enrol_totp_directly": "idp.enrolment",
    # host and secrets
    "Clock": "idp.runtime",
    "IdpConfig": "idp.runtime",
    "Randomness": "idp.runtime",
    "SystemRandomness": "idp.runtime",
    "ThrottleRule": "idp.runtime",
    "system_clock": "idp.runtime",
    "SecretBox": "idp.secretbox",
    "SecretBoxError": "idp.secretbox",
    "derive_key": "idp.secretbox",
    # sign-in machinery
    "KnownDevices": "idp.known_devices",
    "SessionStore": "idp.sessions",
    "SignIn": "idp.signin",
    "Throttle": "idp.throttle",
    "ThrottleSubject": "idp.throttle",
    "Throttler": "idp.throttle",
    "RedisThrottle": "idp.throttle_redis",
    # housekeeping
    "Expired": "idp.purge",
    "expired_rows": "idp.purge:expired",
    # pages
    "build_router": "idp.web",
    "DbDep": "idp.web.deps",
    "IdpRuntime": "idp.web.deps",
    "RuntimeDep": "idp.web.deps",
    "SignedIn": "idp.web.deps",
    "UserDep": "idp.web.deps",
    "CSRF_FIELD": "idp.web.forms",
    "BadForm": "idp.web.forms",
    "Csrf": "idp.web.forms",
    "read_form": "idp.web.forms",
    "HomeAction": "idp.web.home",
    "HomeSection": "idp.web.home",
    "SectionSource": "idp.web.home",
    "MESSAGES": "idp.web.i18n",
    "make_templates": "idp.web.render",
    "render": "idp.web.render",
    # exports and notices
    "Credential": "idp.consent_notice",
    "Preview": "idp.consent_notice",
    "ReleasePreviewer": "idp.consent_notice",
    "Waiting": "idp.consent_notice",
    "Withheld": "idp.consent_notice",
    "write_csv": "idp.csv_export",
}

if not TYPE_CHECKING:  # mypy reads the imports above; a module __getattr__ would make every name Any
    __getattr__, __dir__ = lazy_attributes(globals(), _HOMES, __all__)
