"""Unsigned ID tokens as the Firebase Auth emulator issues them (local use only)."""

from __future__ import annotations

import base64
import json
import time


def emulator_token(project: str, uid: str) -> str:
    """Accepted only by a server started with FIREBASE_AUTH_EMULATOR_HOST set."""

    def segment(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    now = int(time.time())
    claims = {
        "iss": f"https://securetoken.google.com/{project}",
        "aud": project,
        "sub": uid,
        "iat": now,
        "exp": now + 3600,
        "auth_time": now,
        "email": f"{uid}@example.com",
    }
    return f"{segment({'alg': 'none', 'typ': 'JWT'})}.{segment(claims)}."
