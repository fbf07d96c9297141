"""Password hashing with argon2id (RFC 9106) at no less than OWASP's minimum (19 MiB, t=2, p=1)."""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from common.messages import message
from idp.validation import FieldProblem

MIN_LENGTH = 10
MAX_LENGTH = 128


class Passwords:
    def __init__(self, *, memory_kib: int, time_cost: int, parallelism: int) -> None:
        if memory_kib < 19 * 1024 or time_cost < 2:
            raise ValueError("argon2id below OWASP minimum (m=19 MiB, t=2)")
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
        )
        # Verified against when the account does not exist, so the answer takes as long
        # either way and does not reveal which usernames exist.
        self._dummy = self._hasher.hash("genba-dummy-password")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """Constant work whether or not ``stored_hash`` exists."""
        try:
            return self._hasher.verify(stored_hash or self._dummy, password) and stored_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._hasher.check_needs_rehash(stored_hash)


def check_password_policy(password: str, *, username: str) -> str:
    """NIST SP 800-63B §3.1.1.2: length over composition rules; refuse the username itself."""
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        raise FieldProblem("password", message("field.password_short", length=MIN_LENGTH))
    if len(password) > MAX_LENGTH:
        raise FieldProblem("password", message("field.password_long", length=MAX_LENGTH))
    if password.strip().lower() == username.lower() or len(set(password)) < 4:
        raise FieldProblem("password", message("field.password_guessable"))
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in password):
        raise FieldProblem("password", message("field.control_characters"))
    return password
