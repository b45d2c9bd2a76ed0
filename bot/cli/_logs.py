"""How the process logs: readable text by default, or one JSON object a line for shippers.

Both formats pass through one redaction: the configured secrets (webhook URLs, the bot
token) and anything shaped like a Discord webhook URL or bot token are replaced before a
line is written, whatever module logged it and whatever exception it carries.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

from pythonjsonlogger.json import JsonFormatter

from bot.core.logfields import FIELDS, ContextFields

LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REDACTED = "[redacted]"

# A webhook's token is the path segment after its id; the id alone is not a secret.
_WEBHOOK = re.compile(r"(/api(?:/v\d+)?/webhooks/\d+/)[^\s/?#\"'<>]+", re.IGNORECASE)
# A Discord bot token: base64 user id, timestamp and HMAC joined by dots.
_BOT_TOKEN = re.compile(r"\b[MNO][A-Za-z\d_-]{23,27}\.[A-Za-z\d_-]{6}\.[A-Za-z\d_-]{27,}")


_HANDLER_NAME = "breachradar"


class Redactor:
    """Replaces secrets in text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if secret and len(secret) >= 8:  # a short value would blank out ordinary words
                forms.add(secret)
                forms.add(json.dumps(secret)[1:-1])  # as it appears inside a JSON string
        # Longest first, so a URL goes as a whole before its token does.
        self._secrets = sorted(forms, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        text = _WEBHOOK.sub(lambda m: m.group(1) + REDACTED, text)
        return _BOT_TOKEN.sub(REDACTED, text)


class TextFormatter(logging.Formatter):
    """The readable default, redacted."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__(TEXT_FORMAT)
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


class JsonLineFormatter(JsonFormatter):
    """One JSON object a line: time, level, logger, message, then source, target and
    incident where the record is about one, and the exception if there is one."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__(
            "%(message)s",
            rename_fields={"exc_info": "exception", "stack_info": "stack"},
            json_ensure_ascii=False,
        )
        self.redact = redact

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        stamp = datetime.fromtimestamp(record.created, UTC)
        log_data["time"] = stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        super().add_fields(log_data, record, message_dict)
        for key in FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                log_data[key] = value

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


def configure_logging(
    log_format: str = "text",
    *,
    verbose: bool = False,
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> None:
    """Send every log record to stderr (or ``stream``) in ``log_format``, secrets redacted."""
    redact = Redactor(secrets)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ContextFields())
    handler.setFormatter(
        JsonLineFormatter(redact) if log_format == "json" else TextFormatter(redact)
    )
    handler.set_name(_HANDLER_NAME)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)  # configured again once the configuration is read
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    # httpx logs every request URL at INFO; webhook URLs are secrets.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # APScheduler logs every run of the one-second tick job at INFO.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    if not verbose:
        # Alembic narrates every step at INFO; the db command prints its own summary.
        logging.getLogger("alembic").setLevel(logging.WARNING)
