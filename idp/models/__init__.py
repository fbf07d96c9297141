"""SQLModel tables of the identity provider.

Importing this package registers every idp table on ``SQLModel.metadata``.
"""

from idp.models.accounts import (
    Account,
    AccountKind,
    Affiliation,
    Employer,
    EmployerStaff,
    Gender,
    StaffRole,
    Technician,
)
from idp.models.security import AuditEvent, Passkey, RecoveryCode, ThrottleEntry, WebSession

__all__ = [
    "Account",
    "AccountKind",
    "Affiliation",
    "AuditEvent",
    "Employer",
    "EmployerStaff",
    "Gender",
    "Passkey",
    "RecoveryCode",
    "StaffRole",
    "Technician",
    "ThrottleEntry",
    "WebSession",
]
