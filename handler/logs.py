"""Log lines on stdout: JSON for Lambda and files (CloudWatch keeps one event per
line), readable text when a person watches a terminal (`make dev`)."""

from __future__ import annotations

import json
import logging
import os
import sys
import time

# Attributes every LogRecord has; anything else was passed through `extra=`.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update((k, v) for k, v in record.__dict__.items() if k not in _STANDARD)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """`14:03:07 INFO  GET /api/sessions 200 3.1 ms`, or the message and its fields."""

    def format(self, record: logging.LogRecord) -> str:
        fields = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        if {"method", "path", "status", "duration_ms"} <= fields.keys():
            text = (
                f"{fields['method']} {fields['path']} {fields['status']} {fields['duration_ms']} ms"
            )
        else:
            extras = " ".join(f"{k}={v}" for k, v in fields.items() if k != "request_id")
            text = f"{record.getMessage()} {extras}".rstrip()
        line = f"{stamp} {record.levelname:<5} {text}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    on_terminal = sys.stdout.isatty() and "AWS_LAMBDA_RUNTIME_API" not in os.environ
    handler.setFormatter(TextFormatter() if on_terminal else JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiohttp's access log would duplicate our per-request line.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # pgserver narrates every command it runs at INFO.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
