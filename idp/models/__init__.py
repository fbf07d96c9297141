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
from idp.models.oauth import (
    AuthorizationCode,
    Interaction,
    LogoutDelivery,
    OAuthClient,
    OAuthGrant,
    OidcConsent,
    PushedRequest,
    RefreshToken,
    ReplayEntry,
    RevokedToken,
    SigningKey,
)
from idp.models.security import AuditEvent, Passkey, RecoveryCode, ThrottleEntry, WebSession

__all__ = [
    "AuthorizationCode",
    "Interaction",
    "LogoutDelivery",
    "OAuthClient",
    "OAuthGrant",
    "OidcConsent",
    "PushedRequest",
    "RefreshToken",
    "ReplayEntry",
    "RevokedToken",
    "SigningKey",
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
