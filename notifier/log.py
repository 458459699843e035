"""Structured logs: one JSON object per line on stdout, like the TypeScript services' logs.

The Temporal SDK's own `logging` records go through the same formatter, so an operator's log
pipeline sees a single format. Never pass names or phone numbers as fields.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import Any

from temporalio import activity

SERVICE = "notifier"
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}
_NAMES = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warn", logging.ERROR: "error", logging.CRITICAL: "error"}

logger = logging.getLogger("notifier")
# The activity's details go in fields of their own (JsonFormatter), not appended to the message.
activity.logger.activity_info_on_message = False
# From temporalio's `temporal_activity` record attribute: which workflow and attempt a line is of.
_ACTIVITY_FIELDS = {"workflow_id": "workflowId", "activity_type": "activityType", "activity_id": "activityId", "attempt": "attempt"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _iso(record.created),
            "level": _NAMES.get(record.levelno, "info"),
            "service": SERVICE,
            "msg": record.getMessage(),
        }
        if record.name != logger.name:
            line["logger"] = record.name
        details = getattr(record, "temporal_activity", None)
        if isinstance(details, dict):
            line.update({name: details[key] for key, name in _ACTIVITY_FIELDS.items() if key in details})
        line.update(getattr(record, "fields", {}))
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            line["error"] = {"name": type(error).__name__, "message": str(error)}
        return json.dumps(line, ensure_ascii=False, default=str)


def _iso(created: float) -> str:
    # Milliseconds and a Z, as JavaScript's toISOString() writes them.
    return datetime.fromtimestamp(created, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def setup_logging(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(_LEVELS.get(level, logging.INFO))


def log(level: str, msg: str, **fields: Any) -> None:
    """Logs at `level`; `always` is an info line printed at any LOG_LEVEL (the line launchers wait for)."""
    if level == "always":
        handler = logging.getLogger().handlers[:1]
        record = logger.makeRecord(logger.name, logging.INFO, "", 0, msg, (), None, extra={"fields": fields})
        for h in handler:
            h.handle(record)
        return
    logger.log(_LEVELS[level], msg, extra={"fields": fields})


def activity_log(level: str, msg: str, **fields: Any) -> None:
    """Logs from inside an activity through temporalio's activity logger, so the line names the
    workflow, the activity and its attempt. Never pass names or phone numbers as fields."""
    activity.logger.log(_LEVELS[level], msg, extra={"fields": fields})
