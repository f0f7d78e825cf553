"""A pytest plugin for `make mutate` only (pyproject's [tool.mutmut] pytest_add_cli_args names it).

mutmut 3 tests each mutant with the tests that called the mutated function during one
instrumented run of the suite. For the functions nearly every test calls, that is most of the
suite for every surviving mutant. tools/mutate.py narrows it per module: MUTATE_TESTS names the
only tests to keep, MUTATE_SKIP the tests to drop (comma-separated prefixes of node ids). Both
apply only while a mutant is tested (or the clean run that checks the same tests passes): never
while mutmut measures which tests reach which function, lists the tests or forces a failure, so
its record of the suite stays whole. MUTATE_BACKENDS=sqlite drops the tests' PostgreSQL runs
(a test parametrized by the `backend` or `journal_store` fixture) for the modules whose code is
the same on both: the journal's own module runs both.
"""

from __future__ import annotations

import os


def _prefixes(variable: str) -> tuple[str, ...]:
    return tuple(part for part in os.environ.get(variable, "").split(",") if part)


def pytest_collection_modifyitems(config, items):
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    if not (mutant == "" or "__mutmut_" in mutant):
        return
    keep, skip, backends = _prefixes("MUTATE_TESTS"), _prefixes("MUTATE_SKIP"), _prefixes("MUTATE_BACKENDS")
    if not keep and not skip and not backends:
        return
    kept, dropped = [], []
    for item in items:
        wanted = (not keep or item.nodeid.startswith(keep)) and not (skip and item.nodeid.startswith(skip))
        wanted = wanted and (not backends or _backend(item) in backends + ("",))
        (kept if wanted else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def _backend(item) -> str:
    """The journal backend a parametrized test runs on; "" for a test that names none."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    return str(params.get("backend") or params.get("journal_store") or "")
