"""Where to go after signing in, signing up or confirming an address: a same-site path only."""
from __future__ import annotations

from urllib.parse import urlsplit


def safe_next(target: str | None) -> str | None:
    """A same-site path to return to after login, never another host."""
    if not target or any(ch.isspace() or ord(ch) < 32 for ch in target):
        return None  # browsers drop tabs and newlines: "/\t/evil.example" would become "//evil.example"
    target = target.replace("\\", "/")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target
