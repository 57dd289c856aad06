"""Referral references: short, unambiguous, easy to read over the phone.

Eight characters in two groups (``HX4K-9TMR``) from an alphabet without
look-alikes (no 0/O, 1/I/L, 2/Z, 5/S, 8/B, U/V). 23**8 is about 7.8e10
combinations; the store's conditional write catches the rare collision.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "ACDEFGHJKMNPQRTWXY34679"
_PATTERN = re.compile(rf"[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}")  # used with fullmatch: "$" allows a trailing newline


def new_reference() -> str:
    chars = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


def normalise_reference(text: str) -> str | None:
    """Tidy a reference someone typed or read out (case, spaces, missing dash); None if not one."""
    compact = re.sub(r"[\s-]+", "", text or "").upper()
    candidate = f"{compact[:4]}-{compact[4:]}"
    return candidate if _PATTERN.fullmatch(candidate) else None


def is_reference(text: str) -> bool:
    return bool(_PATTERN.fullmatch(text or ""))
