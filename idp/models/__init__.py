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
    "Account",
    "AccountKind",
    "Affiliation",
    "AuditEvent",
    "AuthorizationCode",
    "Employer",
    "EmployerStaff",
    "Gender",
    "Interaction",
    "LogoutDelivery",
    "OAuthClient",
    "OAuthGrant",
    "OidcConsent",
    "Passkey",
    "PushedRequest",
    "RecoveryCode",
    "RefreshToken",
    "ReplayEntry",
    "RevokedToken",
    "SigningKey",
    "StaffRole",
    "Technician",
    "ThrottleEntry",
    "WebSession",
]
