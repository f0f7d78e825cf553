"""Response times of the console's pages with a million documents journaled.

    .venv/bin/python bench/console.py [--documents 1000000] [--requests 200] [--journal PATH]

Seeds a SQLite journal (once; reused when --journal names one that exists) with a month
of traffic: inventory lists, pass forms, receipts, clearance results, about 5 % refused,
a few dead deliveries, receipts awaited for the last day's lists, and for each document
its keys, three events and its delivery. Then serves the console on it and times the
pages a user opens, each --requests times (different documents and numbers each time):
prints p50 and p95 per page. Target: p95 under 200 ms for the overview, search and
document pages.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import dataclasses
import random
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

HOME = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HOME))

import hub  # noqa: E402
from console.auth import write_user  # noqa: E402
from exchange import logs  # noqa: E402
from exchange.journal import Journal  # noqa: E402

PARTIES = (("etps-shenyang", "INV101", 0.35), ("etps-shenyang", "SAS121", 0.2), ("customs", "INV201", 0.25),
           ("zone", "SAS221", 0.12), ("h2010", "DEC_RESULT", 0.08))
DESTINATION = {"INV101": "customs", "SAS121": "zone", "INV201": "etps-shenyang", "SAS221": "etps-shenyang",
               "DEC_RESULT": "zone"}


def seed(path: Path, count: int) -> None:
    journal = Journal(path)  # creates the tables, indexes and counting triggers
    db = journal._db._db
    start = datetime.now(timezone.utc) - timedelta(days=30)
    step = timedelta(days=30) / count
    random.seed(7)
    weights = [w for _, _, w in PARTIES]
    body = (HOME / "samples" / "etps-shenyang" / "INV101-import.xml").read_bytes()
    db.execute("INSERT INTO bodies (sha256, size, body) VALUES ('0' || hex(randomblob(31)), ?, ?)",
               (len(body), body))
    sha = db.execute("SELECT sha256 FROM bodies").fetchone()[0]
    batch = 20_000
    for first in range(0, count, batch):
        documents, keys, events, deliveries, expectations = [], [], [], [], []
        for n in range(first, min(first + batch, count)):
            endpoint, type_, _ = random.choices(PARTIES, weights)[0]
            at = (start + step * n).strftime("%Y-%m-%dT%H:%M:%S.%f") + "+00:00"
            document_id = f"{int((start + step * n).timestamp() * 1000):012x}{n:020x}"
            roll = random.random()
            state = "REJECTED" if roll < 0.05 else "DUPLICATE" if roll < 0.06 else "DELIVERED"
            bond = f"QD0801{26}I{n:09d}"
            reason = "3 errors in this INV101/enterprise (schema INV101.xsd, business rules)" if state == "REJECTED" else ""
            documents.append((document_id, at, endpoint, f"{type_}-{n}.xml", sha, len(body), type_, "enterprise",
                              f"DXPENT0000016069{n:021d}", "DXPENT0000016069", bond, "", state, reason, "",
                              "invalid" if state == "REJECTED" else ""))
            keys += [(document_id, "bond_invt_no", bond), (document_id, "business_id", bond),
                     (document_id, "etps_inner_no", f"HC{n:013d}")]
            events += [(document_id, at, "RECEIVED", endpoint, "", "", "{}", "0" * 64, "0" * 64),
                       (document_id, at, "VALIDATED", "", "", "", "{}", "0" * 64, "0" * 64),
                       (document_id, at, "DELIVERED" if state == "DELIVERED" else state, endpoint, "", reason, "{}",
                        "0" * 64, "0" * 64)]
            if state == "DELIVERED":
                dead = random.random() < 0.002
                deliveries.append((f"d{document_id[1:]}", document_id, DESTINATION[type_], "route", "", sha,
                                   f"{type_}_{document_id}.xml", "document", "DEAD" if dead else "DELIVERED",
                                   8 if dead else 1, "connection refused" if dead else "", at, at, at, endpoint))
                if type_ == "INV101":
                    recent = n > count - count // 30
                    expectations.append((f"{document_id}:customs:INV201", document_id, "customs", "route", "INV201",
                                         1800.0, at, "WAITING" if recent else "RECEIVED", "", at))
        with journal.transaction():
            db.executemany("INSERT INTO documents (document_id, received_at, endpoint, source_name, sha256, size,"
                           " message_type, dialect, message_id, sender, business_id, part, state, reason,"
                           " resubmission_of, code) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", documents)
            db.executemany("INSERT INTO keys (document_id, name, value) VALUES (?, ?, ?)", keys)
            db.executemany("INSERT INTO events (document_id, at, kind, endpoint, route, reason, detail, prev_hash,"
                           " hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", events)
            db.executemany("INSERT INTO deliveries (delivery_id, document_id, endpoint, route, map, sha256, name,"
                           " kind, state, attempts, last_error, created_at, updated_at, due_at, source)"
                           " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", deliveries)
            db.executemany("INSERT INTO expectations (expectation_id, document_id, endpoint, route, receipt_type,"
                           " within_s, due_at, state, receipt_id, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           expectations)
        print(f"  seeded {min(first + batch, count):,} documents", end="\r", flush=True)
    db.execute("ANALYZE")
    journal.close()
    print()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--journal", type=Path, help="reuse (or create) the seeded journal here")
    args = parser.parse_args()
    logs.configure("json", "error", stream=open("/dev/null", "w"))
    work = Path(tempfile.mkdtemp(prefix="hub-console-bench-"))
    path = args.journal or work / "data" / "journal.sqlite"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        print(f"seeding {args.documents:,} documents into {path}")
        seed(path, args.documents)
        print(f"seeded in {time.perf_counter() - started:,.0f} s; {path.stat().st_size / 2**20:,.0f} MiB")
    users = work / "users.toml"
    write_user(users, "bench", "viewer", "bench-password")
    assembly = hub.assemble(hub.DEFAULT_CONFIG, path.parent)
    settings = dataclasses.replace(assembly.settings, console=dataclasses.replace(
        assembly.settings.console, users=users, port=0))
    server = hub.build_console(dataclasses.replace(assembly, settings=settings)).start()
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(server.url + "/login", urllib.parse.urlencode(
        {"name": "bench", "password": "bench-password", "next": "/"}).encode()).read()
    journal = Journal(path, readonly=True)
    count = journal._db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
    ids = [row[0] for row in journal._db.execute(
        "SELECT document_id FROM documents ORDER BY random() LIMIT ?", (args.requests,))]
    numbers = [row[0] for row in journal._db.execute(
        "SELECT business_id FROM documents ORDER BY random() LIMIT ?", (args.requests,))]
    journal.close()
    pages = {
        "overview  /": lambda k: "/",
        "search by business number": lambda k: f"/search?q={numbers[k % len(numbers)]}",
        "search by type and state": lambda k: f"/search?type=INV101&state=REJECTED",
        "document page": lambda k: f"/documents/{ids[k % len(ids)]}",
        "failures": lambda k: "/failures",
        "alerts": lambda k: "/alerts",
        "flows": lambda k: "/flows",
        "/metrics": lambda k: "/metrics",
    }
    print(f"console on {count:,} documents, {args.requests} requests per page (signed in once, one after another):")
    for name, path_of in pages.items():
        times = []
        for k in range(args.requests if "failures" not in name else max(20, args.requests // 10)):
            started = time.perf_counter()
            with opener.open(server.url + path_of(k)) as response:
                response.read()
            times.append((time.perf_counter() - started) * 1000)
        print(f"  {name:<28} p50 {statistics.median(times):7.1f} ms   p95 {percentile(times, 0.95):7.1f} ms")
    server.stop()


if __name__ == "__main__":
    main()
