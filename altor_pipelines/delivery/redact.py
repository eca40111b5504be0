"""Masking what must never reach a note: email addresses, card numbers, secrets.

- Emails: `[email]`.
- Card numbers: runs of 13–19 digits (spaces or dashes allowed between groups) that pass the
  Luhn check: `[card ••••1234]`. Digit runs that fail Luhn (ids, counts, timestamps) are kept.
- Secrets: vendor-shaped tokens (Stripe `sk_/rk_` keys, GitHub `ghp_/ghs_/gho_/github_pat_`,
  Linear `lin_api_`, Slack `xox?-`, AWS `AKIA…`, JWTs, `Bearer …`), `key=value` pairs whose key
  names a secret (password, token, api_key, secret), and long mixed-case base64-like strings
  (40+ chars with upper, lower and digits; plain hex such as commit shas is kept). Any extra
  known secret (`Secret` values from settings) is replaced wherever it appears.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from altor_pipelines.settings import Secret

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
CARD_CANDIDATE = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
SECRET_PATTERNS = [
    re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{6,}\b"),
    re.compile(r"\b(?:ghp|ghs|gho|ghu|ghr)_[A-Za-z0-9]{16,}\b"),
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}\b"),
    re.compile(r"\blin_(?:api|oauth)_[A-Za-z0-9]{8,}\b"),
    re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b"),
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b"),
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(
        r"(?i)\b(password|passwd|secret|api[_-]?key|access[_-]?token|token)"
        r"(\s*[:=]\s*)([^\s,;\"']{4,})"
    ),
]
LONG_OPAQUE = re.compile(r"\b[A-Za-z0-9+_-]{40,}={0,2}")


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum of a digit string (card numbers pass it)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _card(m: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", m.group(0))
    if 13 <= len(digits) <= 19 and luhn_ok(digits):
        return f"[card ••••{digits[-4:]}]"
    return m.group(0)


def _secret(m: re.Match[str]) -> str:
    if m.lastindex and m.lastindex >= 3:  # key=value: keep the key, hide the value
        return f"{m.group(1)}{m.group(2)}[secret]"
    return "[secret]"


def _opaque(m: re.Match[str]) -> str:
    s = m.group(0)
    if re.fullmatch(r"[0-9a-f]+", s) or re.fullmatch(r"[0-9A-F]+", s):
        return s  # hex (commit shas, hashes) is an identifier, not a secret
    if re.search(r"[A-Z]", s) and re.search(r"[a-z]", s) and re.search(r"\d", s):
        return "[secret]"
    return s


def redact(text: str | None, secrets: Iterable[Secret | str] = ()) -> str:
    """`text` with emails, Luhn-valid card numbers and secret-shaped strings masked."""
    if not text:
        return text or ""
    for s in secrets:
        raw = s.reveal() if isinstance(s, Secret) else str(s)
        if raw and len(raw) >= 4:
            text = text.replace(raw, "[secret]")
    for pattern in SECRET_PATTERNS:
        text = pattern.sub(_secret, text)
    text = EMAIL.sub("[email]", text)
    text = CARD_CANDIDATE.sub(_card, text)
    return LONG_OPAQUE.sub(_opaque, text)
