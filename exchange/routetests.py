"""Route tests: an input document, the endpoint it comes from, and where it must go.

They sit beside the rules, in the same ``routes/*.toml`` files::

    [[test]]
    name     = "an import inventory list goes to customs unchanged"
    document = "../samples/etps-shenyang/INV101-import.xml"   # relative to this file
    from     = "etps-shenyang"
    expect   = [{ endpoint = "customs" }]
    # expect = [{ endpoint = "zone", map = "...", output = "expected.xml" }]  output compared as C14N
    # expect = []   the document must be refused; add  error = "unroutable"  to name the cause
    # journal = [{ document = "../samples/customs/INV202-receipt.xml", from = "customs" }]
    #               documents the journal already holds, for routes that correlate (answers, params)

``hub test-routes`` and the pytest suite both run them through the real
pipeline (parse, validate, route, convert), with no I/O beyond reading files.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from .errors import ConfigError
from .facts import Earlier, correlation_keys
from .pipeline import Context, process, read_document
from .spec import Table

_CANONICAL_PARSER = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)


@dataclass
class RouteTestResult:
    name: str
    file: str
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


def _canonical(data: bytes) -> bytes:
    return etree.tostring(etree.fromstring(data, _CANONICAL_PARSER), method="c14n")


def run_one(path: Path, table: Table, context: Context) -> RouteTestResult:
    name = table.str("name")
    result = RouteTestResult(name=name, file=str(path))
    document = path.parent / table.str("document")
    sender = table.str("from")
    expected_error = table.str("error", "")
    expected: dict[tuple[str, str | None], Path | None] = {}
    for entry in table.tables("expect"):
        output = entry.str("output", "")
        expected[(entry.str("endpoint"), entry.str("map", None))] = path.parent / output if output else None
        entry.done()
    earlier = []
    for entry in table.tables("journal"):
        earlier.append((path.parent / entry.str("document"), entry.str("from")))
        entry.done()
    table.done()
    context = with_journal(context, earlier)
    if sender not in context.endpoints:
        raise table.error("from", f"no endpoint named {sender}")
    try:
        data = document.read_bytes()
    except OSError as exc:
        raise table.error("document", f"cannot read {document}: {exc}") from exc

    outcome = process(data, sender, document.name, context)
    actual = {(c.destination.endpoint, c.destination.map): c for c in outcome.copies}
    if outcome.error is not None:
        if expected:
            result.problems.append(f"refused ({outcome.error.code}: {outcome.error.reason}), expected delivery to "
                                   + ", ".join(e for e, _ in expected))
        elif expected_error and outcome.error.code != expected_error:
            result.problems.append(f"refused as {outcome.error.code}, expected {expected_error}: "
                                   f"{outcome.error.reason}")
        return result
    if not expected:
        result.problems.append("delivered to " + ", ".join(e for e, _ in actual) + ", expected it to be refused")
        return result
    for missing in sorted(set(expected) - set(actual), key=str):
        result.problems.append(f"not delivered to {missing[0]}" + (f" with map {missing[1]}" if missing[1] else ""))
    for extra in sorted(set(actual) - set(expected), key=str):
        result.problems.append(f"unexpectedly delivered to {extra[0]}" + (f" with map {extra[1]}" if extra[1] else ""))
    for key, output in expected.items():
        if output is not None and key in actual:
            try:
                want = _canonical(output.read_bytes())
            except (OSError, etree.XMLSyntaxError) as exc:
                raise ConfigError(str(path), f"test {name}: output", f"cannot read {output}: {exc}") from exc
            if _canonical(actual[key].body) != want:
                result.problems.append(f"the output for {key[0]} differs from {output.name}")
    return result


def with_journal(context: Context, documents: list[tuple[Path, str]]) -> Context:
    """The context with a journal that holds ``documents`` (path, endpoint it came from)."""
    return dataclasses.replace(context, facts=_KnownDocuments(documents, context)) if documents else context


class _KnownDocuments:
    """``facts.Facts`` over documents a test says the journal holds (processed, so their keys are real)."""

    def __init__(self, documents: list[tuple[Path, str]], context: Context):
        self.known = []
        for number, (file, endpoint) in enumerate(documents):
            kind, document = read_document(file.read_bytes(), context)
            self.known.append(Earlier(f"test-{number}", endpoint, kind.type, f"{number:06d}",
                                      correlation_keys(document.business)))

    def correlated(self, keys: dict[str, str]) -> list[Earlier]:
        return [e for e in self.known if any(e.keys.get(name) == value for name, value in keys.items())]


def run_all(tests: list[tuple[Path, Table]], context: Context) -> list[RouteTestResult]:
    return [run_one(path, table, context) for path, table in tests]
