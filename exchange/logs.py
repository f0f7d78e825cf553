"""Structured logging: JSON lines for machines, readable lines for a person at a terminal.

Every event of a document is logged through a logger bound to its
``document_id`` (and message type, sender, route once known), so one grep
finds a document's whole story.

JSON lines are written in groups, after every poll of the engine, not one
write per line. A hub killed with SIGKILL loses at most the lines of its last
poll; the journal, not the log, is the record.
"""

from __future__ import annotations

import atexit
import logging
import sys
import threading
from typing import TextIO

import orjson
import structlog

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


_streams: list[TextIO] = []


class _CurrentStderr:
    """Whatever sys.stderr is at the moment of writing (it is replaced under test runners)."""

    @property
    def buffer(self):
        return self

    def isatty(self) -> bool:
        return sys.stderr.isatty()

    def write(self, data) -> None:
        if isinstance(data, bytes):
            sys.stderr.buffer.write(data) if hasattr(sys.stderr, "buffer") else sys.stderr.write(data.decode())
        else:
            sys.stderr.write(data)

    def flush(self) -> None:
        sys.stderr.flush()


def configure(format_: str = "auto", level: str = "info", stream: TextIO | None = None) -> None:
    """Route the hub's events to ``stream`` (default stderr) as JSON lines or readable lines."""
    flush()  # what the previous configuration still holds
    _buffers.clear()
    _streams[:] = [stream] if stream is not None else []  # keep it alive: the logger writes to its buffer
    stream = stream or _CurrentStderr()
    pretty = format_ == "pretty" or (format_ == "auto" and stream.isatty())
    processors = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
    ]
    if pretty:
        processors.append(structlog.dev.ConsoleRenderer(colors=stream.isatty()))
        factory = structlog.PrintLoggerFactory(file=stream)
    elif hasattr(stream, "buffer"):
        # orjson renders bytes; lines are collected and written together by flush(), which the
        # engine calls after every poll: a log line costs ~5 us instead of ~15.
        processors.append(structlog.processors.JSONRenderer(serializer=_json_line))
        lines = _Lines(stream.buffer)
        _buffers[:] = [lines]
        factory = lambda *_: lines  # noqa: E731
    else:  # a text-only stream (io.StringIO in a test)
        processors.append(structlog.processors.JSONRenderer(serializer=lambda e, **_: _json_line(e).decode()))
        factory = structlog.PrintLoggerFactory(file=stream)
    # The transport libraries' own log records are not the hub's: the adapters translate their
    # failures into events that name the endpoint. Keep only their critical records.
    for library in ("pika", "paramiko"):
        logging.getLogger(library).setLevel(logging.CRITICAL)
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        logger_factory=factory,
        cache_logger_on_first_use=False,
    )


class _Lines:
    """A structlog logger that keeps rendered lines until ``flush()`` (or until it holds many)."""

    def __init__(self, file):
        self._file = file
        self._lines: list[bytes] = []
        self._lock = threading.Lock()

    def msg(self, message: bytes) -> None:
        with self._lock:
            self._lines.append(message)
            if len(self._lines) < 512:
                return
        self.flush()

    debug = info = warning = warn = error = critical = exception = fatal = log = msg

    def flush(self) -> None:
        with self._lock:
            lines, self._lines = self._lines, []
        if lines:
            self._file.write(b"\n".join(lines) + b"\n")
            self._file.flush()


_buffers: list[_Lines] = []


def flush() -> None:
    """Write out buffered log lines (the engine calls this after every poll, and at exit)."""
    for lines in _buffers:
        lines.flush()


atexit.register(flush)


def _json_line(event: dict, **_) -> bytes:
    return orjson.dumps(event, default=str)


def get(**context) -> structlog.typing.FilteringBoundLogger:
    return structlog.get_logger("hub").bind(**context)
