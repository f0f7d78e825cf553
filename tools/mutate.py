"""Mutation testing of the modules where a bug loses or forges documents (`make mutate`).

    .venv/bin/python tools/mutate.py                      # every module below, one after the other
    .venv/bin/python tools/mutate.py envelope gathering   # some of them (any unique part of a name)
    .venv/bin/python tools/mutate.py --list               # the modules, what they run, nothing else
    .venv/bin/python tools/mutate.py --survivors journal  # only last run's survivors, after adding tests

Runs mutmut 3 (configured in pyproject.toml, [tool.mutmut]) once per module, with the mutants
of that module only, then prints `module | mutants | killed | survived | timeout | no tests |
other | score | detected | time` (score = killed / mutants; detected counts timeouts as caught)
and writes each module's surviving mutants, each with its diff as `mutmut show` gives it, to
REPORT_DIR/<module>.txt (default mutants/survivors/; every module's latest row in summary.txt).
--no-run rewrites both from mutmut's last results. Needs the real services: run
tests/services.sh first (the Makefile target does).

How the tests are chosen: mutmut runs the whole suite once, instrumented, to learn which tests
call which function (mutants/mutmut-stats.json, kept between runs), then tests each mutant with
the tests that called its function, fastest first, stopping at the first failure. Nearly every
test calls the reader, the catalog and the engine, so that alone would run minutes of tests for
every surviving mutant; each module below also drops the slow system tests that are not about it
(HEAVY: lint of broken configs, the browser console, subprocess hubs, large documents, the
end-to-end passes over the whole real corpus), through tools/mutate_plugin.py and the
MUTATE_TESTS / MUTATE_SKIP variables. The mutated copy is mutants/ (git-ignored); mutmut
regenerates a module's mutants when its source changed and re-collects the stats when the tests
changed.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTMUT = Path(sys.executable).parent / "mutmut"

# Slow tests about something else than the module under test: each costs seconds to tens of
# seconds for every surviving mutant. Prefixes of pytest node ids.
HEAVY = (
    "tests/test_config.py",          # `hub lint` of broken configurations: 46 s, assembles whole catalogs
    "tests/test_console.py",         # the browser console: 18 s
    "tests/test_onboarding.py",      # a hub subprocess reloaded while running: 30 s
    "tests/test_shared_journal.py",  # two hub subprocesses on one PostgreSQL journal: 20 s
    "tests/test_crash.py",           # a hub subprocess killed mid-batch: 13 s
    "tests/test_large_documents.py",  # tens of megabytes
    "tests/test_real_documents.py::test_a_real_receipt_goes_back",  # the whole corpus end to end: 13 s
    "tests/test_real_documents.py::test_hub_inspect_names",          # `hub inspect` of the corpus: 10 s
    # closes every connection on the broker (other workers' too): only for adapters.amqp, one worker
    "tests/test_real_transports.py::test_connections_closed_under_the_hub_lose_nothing",
)


@dataclass
class Module:
    name: str                 # the report's name: dotted module (and function)
    path: str                 # the file mutmut mutates (pyproject's only_mutate)
    pattern: str              # which of its mutants: mutmut names, fnmatch
    tests: tuple[str, ...] = ()   # only these tests (node id prefixes); () = every test that calls it
    skip: tuple[str, ...] = HEAVY  # never these
    workers: int | None = None    # None: --max-children (default: one per core)
    backends: tuple[str, ...] = ("sqlite",)  # the journal backends its parametrized tests run on
    about: str = ""


MODULES = [
    # Every test reads documents. The envelope's own tests, the real corpus read, the catalog's
    # identification, the hostile inputs, the reading policy, the pockets of a split document,
    # authorization by sender and receipts by their original's numbers judge the reader; the
    # other flows through the engine below would add a minute to every surviving mutant. A skip
    # list, not a list of tests to run, so that a new test file counts at once.
    Module("exchange.envelope", "exchange/envelope.py", "exchange.envelope.*",
           skip=HEAVY + ("tests/test_cli.py", "tests/test_joint_review.py", "tests/test_operations.py",
                         "tests/test_robustness.py", "tests/test_rules.py", "tests/test_real_transports.py",
                         "tests/test_acknowledgement.py", "tests/test_real_documents.py::test_hub_validate_",
                         "tests/test_real_documents.py::test_a_receipt_addressed_"),
           about="reading the envelope: who sent what, which business number"),
    Module("exchange.gathering", "exchange/gathering.py", "exchange.gathering.*",
           about="gatherings: the joint review's answers collected into one decision"),
    Module("exchange.pipeline.authorize", "exchange/pipeline.py", "exchange.pipeline.x_authorize__mutmut_*",
           about="may this endpoint send as this sender, this type"),
    Module("exchange.engine", "exchange/engine.py", "exchange.engine.*",
           about="intake and acknowledgement, expectations and receipts"),
    Module("exchange.journal", "exchange/journal.py", "exchange.journal.*", backends=("sqlite", "postgres"),
           about="the journal and its hash chain, on SQLite and PostgreSQL"),
    Module("exchange.catalog", "exchange/catalog.py", "exchange.catalog.*",
           about="identification, validation and its error reports"),
    # The transports: every test that reaches them (few, and those of test_config.py and
    # test_onboarding.py that do are the ones about their settings and self-test).
    Module("adapters.amqp", "adapters/amqp.py", "adapters.amqp.*", skip=(), workers=1,
           about="RabbitMQ: one worker, its fault test drops every connection on the broker"),
    # Its tests mostly wait (settle times, polls, reconnects): more at once than cores.
    Module("adapters.sftp", "adapters/sftp.py", "adapters.sftp.*", skip=HEAVY[-1:], workers=2 * (os.cpu_count() or 2) + 1,
           about="SFTP to the enterprises' customs clients; its tests wait more than they compute"),
]

KILLED, SURVIVED, TIMEOUT, NO_TESTS = "killed", "survived", "timeout", "no tests"


def pick(names: list[str]) -> list[Module]:
    if not names:
        return MODULES
    chosen = []
    for wanted in names:
        found = [m for m in MODULES if wanted == m.name] or [m for m in MODULES if wanted in m.name]
        if len(found) != 1:
            sys.exit(f"mutate: {wanted!r} names {len(found)} modules; one of: {', '.join(m.name for m in MODULES)}")
        chosen += [m for m in found if m not in chosen]
    return chosen


def results() -> dict[str, str]:
    """Every mutant mutmut knows, with its status (`mutmut results --all true`)."""
    out = subprocess.run([str(MUTMUT), "results", "--all", "true"], cwd=ROOT, capture_output=True, text=True)
    found = {}
    for line in out.stdout.splitlines():
        key, sep, status = line.strip().rpartition(": ")
        if sep and "__mutmut_" in key:
            found[key] = status
    return found


def run_module(module: Module, workers: int, logs: Path, survivors: bool = False) -> tuple[int, float, Path]:
    # The tests' temporary folders go under mutants/tmp, so that what a mutant killed for its time
    # left running (an sshd of the sftp tests) is known to be ours and ended after the module.
    scratch = ROOT / "mutants" / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, MUTATE_TESTS=",".join(module.tests), MUTATE_SKIP=",".join(module.skip),
               MUTATE_BACKENDS=",".join(module.backends), TMPDIR=str(scratch))
    log = logs / f"{module.name}.log"
    started = time.monotonic()
    done = threading.Event()

    def heartbeat():
        while not done.wait(300):
            print(f"  {module.name}: running for {(time.monotonic() - started) / 60:.0f} min (log: {log})", flush=True)

    threading.Thread(target=heartbeat, daemon=True).start()
    names = [module.pattern]
    if survivors:  # only those that survived the last run, after tests were added
        names = sorted(k for k, s in results().items() if s == SURVIVED and fnmatch.fnmatchcase(k, module.pattern))
        if not names:
            return 0, 0.0, log
    with log.open("w") as output:
        code = subprocess.run([str(MUTMUT), "run", "--max-children", str(workers), *names],
                              cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT).returncode
    done.set()
    left = end_leftovers(scratch)
    if left:
        print(f"  {module.name}: ended {left} processes its timed-out mutants left running", flush=True)
    return code, time.monotonic() - started, log


def end_leftovers(scratch: Path) -> int:
    """End the processes whose command line names our scratch folder (the sftp tests' sshd)."""
    ended = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(scratch) in command:
            try:
                os.kill(int(entry.name), 15)
                ended += 1
            except OSError:
                pass
    return ended


def left_out(module: Module) -> list[str]:
    """Test files that reached the module when mutmut measured the suite but that its `tests` leave out
    (a new test file is one): what the module's score did not count on."""
    try:
        stats = json.loads((ROOT / "mutants" / "mutmut-stats.json").read_text())["tests_by_mangled_function_name"]
    except (OSError, ValueError, KeyError):
        return []
    function = module.pattern.split("__mutmut_")[0].rstrip("*")
    reaching = {test for key, tests in stats.items() if key.startswith(function) for test in tests}
    if not module.tests:
        return []
    return sorted({test.split("::")[0] for test in reaching
                   if not test.startswith(module.tests) and not (module.skip and test.startswith(module.skip))})


def report(module: Module, statuses: dict[str, str], report_dir: Path) -> Path:
    """The module's surviving mutants with their diffs, then those no test reached."""
    target = report_dir / f"{module.name}.txt"
    survivors = sorted(k for k, s in statuses.items() if s == SURVIVED)
    others = sorted(k for k, s in statuses.items() if s not in (KILLED, SURVIVED))
    with target.open("w") as out:
        out.write(f"# {module.name} ({module.path}): {len(survivors)} surviving mutants of {len(statuses)}\n")
        out.write(f"# tests: {', '.join(module.tests) or 'every test that calls the function'}"
                  f"{'; skipped: ' + ', '.join(module.skip) if module.skip else ''}\n")
        if missed := left_out(module):
            out.write(f"# tests that reach it but were not run (neither in its tests nor skipped): {', '.join(missed)}\n")
        out.write("\n")
        for key in survivors:
            shown = subprocess.run([str(MUTMUT), "show", key], cwd=ROOT, capture_output=True, text=True)
            out.write(shown.stdout.rstrip() + "\n\n")
        if others:
            out.write(f"# not killed, not survived ({len(others)}): timeout, no tests, ...\n")
            for key in others:
                out.write(f"{key}: {statuses[key]}\n")
    return target


def table(rows: list[list[str]]) -> str:
    head = ["module", "mutants", "killed", "survived", "timeout", "no tests", "other", "score", "detected", "time"]
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    line = lambda r: " | ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
    return "\n".join([line(head), "-+-".join("-" * w for w in widths), *map(line, rows)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("modules", nargs="*", help="modules to run (default: all); any unique part of a name")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2,
                        help="mutants tested at once, for the modules that name no number of their own")
    parser.add_argument("--report-dir", type=Path, default=ROOT / "mutants" / "survivors")
    parser.add_argument("--survivors", action="store_true",
                        help="test again only the mutants that survived the last run (after adding tests)")
    parser.add_argument("--no-run", action="store_true",
                        help="run nothing: the table and the survivors' files from mutmut's last results")
    parser.add_argument("--list", action="store_true", help="list the modules and exit")
    args = parser.parse_args()
    chosen = pick(args.modules)
    if args.list:
        for m in MODULES:
            print(f"{m.name:30s} {m.pattern:45s} {m.about}")
        return 0
    if not MUTMUT.exists():
        sys.exit(f"mutate: no {MUTMUT}; install the extra: {sys.executable} -m pip install -e '.[test,mutate]'")
    logs = ROOT / "mutants" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    args.report_dir.mkdir(parents=True, exist_ok=True)
    rows, failed = [], []
    for module in chosen:
        workers = module.workers or args.max_children
        print(f"{module.name}: mutating {module.path} ({module.pattern}), {workers} at once; log {logs / module.name}.log",
              flush=True)
        if args.no_run:
            code, seconds, log = 0, 0.0, logs / f"{module.name}.log"
        else:
            code, seconds, log = run_module(module, workers, logs, args.survivors)
        statuses = {k: s for k, s in results().items() if fnmatch.fnmatchcase(k, module.pattern)}
        counts = {s: sum(1 for v in statuses.values() if v == s) for s in (KILLED, SURVIVED, TIMEOUT, NO_TESTS)}
        total = len(statuses)
        other = total - sum(counts.values())
        score = f"{100 * counts[KILLED] / total:.1f}%" if total else "-"
        detected = f"{100 * (counts[KILLED] + counts[TIMEOUT]) / total:.1f}%" if total else "-"
        if code != 0:
            failed.append(module.name)
            tail = log.read_text(errors="replace").replace("\r", "\n").strip().splitlines()[-15:]
            print(f"{module.name}: mutmut exited {code} after {seconds / 60:.1f} min; its log ends:\n  "
                  + "\n  ".join(tail), flush=True)
            score += " (failed)"
        listed = report(module, statuses, args.report_dir)
        rows.append([module.name, total, counts[KILLED], counts[SURVIVED], counts[TIMEOUT], counts[NO_TESTS], other,
                     score, detected, f"{seconds / 60:.1f} min" if not args.no_run else "-"])
        print(f"{module.name}: {counts[KILLED]}/{total} killed ({score}), {counts[SURVIVED]} survived: {listed}",
              flush=True)
        if missed := left_out(module):
            print(f"{module.name}: WARNING: these reach it but are not in its tests (tools/mutate.py MODULES): "
                  f"{', '.join(missed)}", flush=True)
    summary = table(rows)
    print()
    print(summary)
    # summary.txt: the latest row of every module run with this report folder, in MODULES' order
    kept = args.report_dir / "summary.json"
    latest = json.loads(kept.read_text()) if kept.exists() else {}
    latest.update({row[0]: row for row in rows if not args.no_run or row[0] not in latest})
    kept.write_text(json.dumps(latest, indent=1))
    (args.report_dir / "summary.txt").write_text(table([latest[m.name] for m in MODULES if m.name in latest]) + "\n")
    print(f"\nscore = killed / mutants; detected = (killed + timeout) / mutants. Surviving mutants, with their diffs: {args.report_dir}/<module>.txt;"
          f" every module's latest figures: {args.report_dir}/summary.txt")
    print("Look at one: .venv/bin/mutmut show <name>; apply it to the source tree: .venv/bin/mutmut apply <name>")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
