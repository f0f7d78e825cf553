"""What the validation policies cost, beside a plain loop run in the same process.

    .venv/bin/python bench/reading.py [--count 2000] [--rounds 3]

For each document, two loops over the same bytes, best of ``--rounds``:
- plain: lxml parses the bytes and validates them against the type's XSD, nothing else
  (what a hand-written reader that trusts the document's shape would do);
- hub: ``check_document`` as ``hub validate`` and the engine run it: hardened parse,
  envelope, identify, then the entry's policy (strict: as it is, and again as a copy
  in the XSD's order when that fails; tolerant: a normalised copy, drift, needs and
  result codes) and the business rules.
The ratio hub / plain is the figure to watch; absolute rates vary with the machine.

Documents: a real INV201 (ronannnn/gx-customs-bridge, 2024) as customs sent it; the same with
an element the hub does not know in its head (drift); the 11 KB INV101 (strict, fields in the
XSD's order); the same INV101 with its head's first field moved last (strict, the copy path).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

HOME = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HOME))

from lxml import etree  # noqa: E402

import hub  # noqa: E402
from exchange.pipeline import check_document  # noqa: E402

REAL_INV201 = HOME / "tests" / "real" / "hde" / "gx-customs-bridge" / "INV201_prevd_4_no_xmldecl.xml"
INV101 = HOME / "samples" / "etps-shenyang" / "INV101-import.xml"


def documents() -> list[tuple[str, bytes, Path]]:
    receipt = REAL_INV201.read_bytes()
    drifting = receipt.replace(b"</BondInvtBsc>", b"<fxCheckFlag>1</fxCheckFlag></BondInvtBsc>", 1)
    inventory = INV101.read_bytes()
    head = re.search(rb"\s*<SeqNo>[^<]*</SeqNo>|\s*<SeqNo/>", inventory)
    moved = inventory.replace(head.group(0), b"", 1).replace(b"</InvtHeadType>", head.group(0) + b"</InvtHeadType>", 1)
    return [("INV201 real receipt (tolerant)", receipt, HOME / "schemas/receipts/INV201.xsd"),
            ("INV201 with one unknown field (tolerant, drift)", drifting, HOME / "schemas/receipts/INV201.xsd"),
            ("INV101 11 KB, XSD order (strict)", inventory, HOME / "schemas/enterprise/INV101.xsd"),
            ("INV101 11 KB, head reordered (strict, copy)", moved, HOME / "schemas/enterprise/INV101.xsd")]


def best(loop, rounds: int) -> float:
    return min(loop() for _ in range(rounds))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    context = hub.assemble(hub.DEFAULT_CONFIG, Path("/nonexistent-bench")).context
    print(f"{'document':<50} {'plain lxml':>14} {'hub policy':>14} {'hub/plain':>10}")
    for label, data, xsd in documents():
        schema = etree.XMLSchema(etree.parse(str(xsd)))
        check_document(data, context)  # warm up: the field model is built on first use

        def plain() -> float:
            started = time.perf_counter()
            for _ in range(args.count):
                schema.validate(etree.fromstring(data))
            return time.perf_counter() - started

        def policy() -> float:
            started = time.perf_counter()
            for _ in range(args.count):
                check_document(data, context)
            return time.perf_counter() - started

        plain_seconds, hub_seconds = best(plain, args.rounds), best(policy, args.rounds)
        print(f"{label:<50} {args.count / plain_seconds:>10,.0f}/s {args.count / hub_seconds:>10,.0f}/s "
              f"{hub_seconds / plain_seconds:>9.1f}x")


if __name__ == "__main__":
    main()
