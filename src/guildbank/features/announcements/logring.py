"""The recent log lines of this process, for ``GET /api/logs``: a bounded ring, secrets
redacted before a line is kept.

Installed as a structlog processor just before the renderer (``install``), so it sees each
event as a dict. Redaction drops the values of secret-sounding keys and masks anything in a
value that looks like a bearer token, a Discord token or a key=secret pair: the ring is read
over the API, so it must never hand out what the log line carried by mistake.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import MutableMapping
from typing import Any

import structlog

__all__ = ["LEVELS", "RING", "LogRing", "install", "redact"]

LEVELS = ("debug", "info", "warning", "error", "critical")
REDACTED = "[redacted]"
_SECRET_KEY = re.compile(
    r"(token|secret|password|passwd|authorization|api_key|apikey|cookie|session|dsn)", re.I
)
_SECRET_TEXT = [
    re.compile(r"(?i)\b(bearer|bot)\s+[A-Za-z0-9._~+/=-]{8,}"),
    # Discord bot tokens: base64 id . timestamp . hmac.
    re.compile(r"\b[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{20,}\b"),
    re.compile(r"(?i)\b(password|secret|token|api_key)=[^\s&;]+"),
    # URLs with credentials: scheme://user:password@host
    re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)"),
]


def _mask(text: str) -> str:
    for pattern in _SECRET_TEXT:
        text = pattern.sub(REDACTED, text)
    return text


def redact(value: Any, key: str = "") -> Any:
    """``value`` with secrets taken out (recursively through dicts and lists)."""
    if key and _SECRET_KEY.search(key):
        return REDACTED
    if isinstance(value, str):
        return _mask(value)
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return _mask(repr(value))


class LogRing:
    """The last ``size`` log events of this process (thread-safe: hikari logs from threads)."""

    def __init__(self, size: int = 1000) -> None:
        self._lines: deque[dict[str, Any]] = deque(maxlen=size)
        self._lock = threading.Lock()

    def __call__(
        self, _logger: Any, method: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        """The structlog processor: keep a redacted copy, pass the event on unchanged."""
        line = {str(k): redact(v, str(k)) for k, v in event.items()}
        line.setdefault("level", method)
        with self._lock:
            self._lines.append(line)
        return event

    def lines(self, *, level: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """Newest last; ``level``: that level and above."""
        floor = LEVELS.index(level) if level in LEVELS else 0
        with self._lock:
            kept = [
                line
                for line in self._lines
                if LEVELS.index(str(line.get("level", "info")).lower())
                >= floor  # unknown levels count as info below
                if str(line.get("level", "info")).lower() in LEVELS
            ]
        return kept[-limit:]

    def clear(self) -> int:
        with self._lock:
            count = len(self._lines)
            self._lines.clear()
        return count


RING = LogRing()


def install(ring: LogRing = RING) -> None:
    """Put ``ring`` in structlog's chain, before the renderer (once)."""
    processors = list(structlog.get_config()["processors"])
    if ring in processors:
        return
    processors.insert(max(0, len(processors) - 1), ring)
    structlog.configure(processors=processors)
