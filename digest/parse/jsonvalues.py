"""Typed values out of JSON documents (JSON Feed, the Hugging Face API), where any key may hold anything."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any


def iso_datetime(value: Any) -> datetime | None:
    """An ISO 8601 date-time as aware UTC; naive values are taken as UTC; anything else is None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def json_error(exc: ValueError) -> str:
    """Why a JSON document could not be read, for the reader: one that stops early (a body cut short) says so.
    The decoder met the end of the document, or a string that runs to it."""
    if isinstance(exc, json.JSONDecodeError) and (
        exc.pos >= len(exc.doc.rstrip()) or exc.msg.startswith("Unterminated string")
    ):
        return "the document stops before its end (cut short?)"
    return str(exc)
