"""Sessions in a signed cookie, and the CSRF token that every form carries.

The cookie holds the account's name, its session generation and a random CSRF token, signed with the
configured secret (itsdangerous), HttpOnly and SameSite=Lax. It lasts `MAX_AGE` from signing in. A
session counts only while its generation equals the account's: disabling the account or resetting its
password raises the generation and so ends every session at once, on every replica.
A visitor who has not signed in has a session too (no name), so the sign-in form has its token.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "rectify_session"
MAX_AGE = timedelta(hours=12)
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def _token() -> str:
    return secrets.token_urlsafe(24)


@dataclass
class Session:
    name: str | None = None
    generation: int = 0
    csrf: str = field(default_factory=_token)
    #: True when the cookie must be written again (new, signed in or out).
    changed: bool = False

    def sign_in(self, name: str, generation: int) -> None:
        """A new token at sign-in: a token seen before signing in is worth nothing after."""
        self.name, self.generation, self.csrf, self.changed = name, generation, _token(), True

    def sign_out(self) -> None:
        self.name, self.generation, self.csrf, self.changed = None, 0, _token(), True

    def csrf_ok(self, presented: str | None) -> bool:
        return bool(presented) and hmac.compare_digest(str(presented).encode(), self.csrf.encode())


class SessionCodec:
    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="rectify.web.session")

    def load(self, cookie: str | None) -> Session:
        """The session in the cookie, or a new empty one when there is none, or it is forged or too old."""
        if cookie:
            try:
                data = self._serializer.loads(cookie, max_age=int(MAX_AGE.total_seconds()))
                return Session(name=data["n"], generation=int(data["g"]), csrf=str(data["c"]))
            except (BadSignature, KeyError, TypeError, ValueError):
                pass
        return Session(changed=True)

    def dump(self, session: Session) -> str:
        return self._serializer.dumps({"n": session.name, "g": session.generation, "c": session.csrf})
