"""The hub's one error hierarchy.

Every error the hub raises on purpose derives from ``HubError``. Transport
libraries' exceptions (pika, paramiko, OS errors) are translated at the
adapter edge with ``raise ... from exc``, so callers only ever catch these.

    HubError
    ├── ConfigError              a config, route or catalog file is wrong (names file, key, reason)
    ├── DocumentError            the document itself is at fault: the sender is told why
    │   ├── RefusedInput         not parsed at all: empty, oversized, malformed, hostile (DTD/entities), too deep
    │   ├── EnvelopeError        parsed, but its envelope cannot be read (missing or contradictory fields)
    │   ├── UnknownType          no catalog entry for its root, namespace and body
    │   ├── Unauthorized         the inbound endpoint may not send this sender id or this type
    │   ├── InvalidDocument      fails its schema; carries every issue with line and path
    │   ├── Unroutable           no route matches it
    │   └── ReusedMessageId      an accepted document already has its message id, with other content
    ├── ConversionError          a map failed or its output fails the target schema: the hub's fault, never sent
    └── TransportError           an adapter could not read, write or connect (names the endpoint)

Every ``HubError`` carries a list of ``Issue`` so that a receipt can list every
problem, not only the first (at most ``MAX_ISSUES``; the last one then says how
many more there were).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Issue:
    """One problem found in a document: where it is and what is wrong."""

    message: str
    line: int | None = None
    path: str | None = None
    file: str | None = None

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.path:
            where.append(self.path)
        return f"{': '.join(where)}: {self.message}" if where else self.message

    def as_dict(self) -> dict:
        return {"message": self.message, "line": self.line, "path": self.path, "file": self.file}


MAX_ISSUES = 100


class HubError(Exception):
    """Base of every error the hub raises on purpose."""

    #: a short machine-readable name of the cause, used in journal events and receipts
    code = "hub-error"

    def __init__(self, reason: str, issues: list[Issue] | None = None):
        super().__init__(reason)
        self.reason = reason
        issues = list(issues) if issues else [Issue(reason)]
        if len(issues) > MAX_ISSUES:
            issues = issues[:MAX_ISSUES - 1] + [Issue(f"... and {len(issues) - MAX_ISSUES + 1} more")]
        self.issues: list[Issue] = issues


class ConfigError(HubError):
    code = "config"

    def __init__(self, file: str, key: str, reason: str):
        super().__init__(f"{file}: {key}: {reason}")
        self.file, self.key = file, key


class DocumentError(HubError):
    code = "document"


class RefusedInput(DocumentError):
    code = "refused"


class EnvelopeError(DocumentError):
    code = "envelope"


class UnknownType(DocumentError):
    code = "unknown-type"


class Unauthorized(DocumentError):
    code = "unauthorized"


class InvalidDocument(DocumentError):
    code = "invalid"

    def __init__(self, reason: str, issues: list[Issue] | None = None, drift: list | None = None):
        super().__init__(reason, issues)
        self.drift = list(drift or [])  # what a tolerant entry would have accepted (policy.Drift): still reported


class Unroutable(DocumentError):
    code = "unroutable"


class ReusedMessageId(DocumentError):
    code = "reused-message-id"


class ConversionError(HubError):
    code = "conversion"


class TransportError(HubError):
    code = "transport"

    def __init__(self, endpoint: str, reason: str):
        super().__init__(f"endpoint {endpoint}: {reason}")
        self.endpoint = endpoint
