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

Then the scaling run (``--lines``): the real INV201 grown to N list lines, every one with a value
the hub does not read that breaks its XSD type (tolerant: accepted, reported as drift), and the
INV101 grown to N lines with a bad unit price in each (strict: refused, 100 findings). Time per
line staying flat as N grows is what linear means; libxml2 alone, asked for every finding's path,
grows with N squared (the plain column shows it).
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
from exchange.errors import HubError  # noqa: E402
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


def grown(lines: int) -> list[tuple[str, bytes, Path]]:
    # without its xmldsig namespace, so that plain libxml2 checks its lines against the XSD too
    receipt = REAL_INV201.read_bytes().replace(b' xmlns="http://www.w3.org/2000/09/xmldsig#"', b"", 1)
    line = (b"<BondInvtDt><gdsSeqno>x</gdsSeqno><gdsMtno>M-1</gdsMtno><dclQty>not a number</dclQty>"
            b"</BondInvtDt>\n")
    receipt = receipt.replace(b"</BondInvtBsc>", b"</BondInvtBsc>\n" + line * lines, 1)
    inventory = INV101.read_text(encoding="utf-8")
    first = re.search(r"<InvtListType>.*?</InvtListType>", inventory, re.S).group(0)
    bad = re.sub(r"<DclUprcAmt>[^<]*</DclUprcAmt>", "<DclUprcAmt>abc</DclUprcAmt>", first)
    body = "\n".join(re.sub(r"<GdsSeqno>\d+</GdsSeqno>", f"<GdsSeqno>{n}</GdsSeqno>", bad)
                     for n in range(1, lines + 1))
    inventory = re.sub(r"<InvtListType>.*</InvtListType>", lambda _: body, inventory, count=1, flags=re.S)
    return [(f"INV201 {lines:,} lines, each drifting (tolerant)", receipt, HOME / "schemas/receipts/INV201.xsd"),
            (f"INV101 {lines:,} lines, each invalid (strict)", inventory.encode("utf-8"),
             HOME / "schemas/enterprise/INV101.xsd")]


def scaling(context, sizes: list[int]) -> None:
    print(f"\n{'document':<50} {'plain lxml':>14} {'hub':>10} {'hub per 1,000 lines':>20}")
    for lines in sizes:
        for label, data, xsd in grown(lines):
            schema = etree.XMLSchema(etree.parse(str(xsd)))
            started = time.perf_counter()
            schema.validate(etree.fromstring(data))
            paths = [entry.path for entry in schema.error_log]  # what reporting each finding asks for
            plain_seconds = time.perf_counter() - started
            started = time.perf_counter()
            try:
                outcome = f"accepted, {len(check_document(data, context)[2])} drift"
            except HubError as exc:
                outcome = f"refused, {len(getattr(exc, 'issues', []))} findings"
            hub_seconds = time.perf_counter() - started
            print(f"{label:<50} {plain_seconds:>12.2f} s {hub_seconds:>8.2f} s {hub_seconds / lines * 1000:>18.3f} s"
                  f"   ({len(data) / 1e6:.1f} MB, {len(paths):,} libxml2 findings; {outcome})")


def best(loop, rounds: int) -> float:
    return min(loop() for _ in range(rounds))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lines", type=int, nargs="*", default=[2000, 8000, 32000])
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
    scaling(context, args.lines)


if __name__ == "__main__":
    main()
