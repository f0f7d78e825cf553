"""Large documents for the benchmarks and the tests, built from the real samples.

``write_inventory`` repeats the 30 goods lines of the INV101 import sample, renumbered
1, 2, 3 …, until the list reaches the size asked: a valid list that passes the XSD and
every business rule. Asked for pockets, it writes the same list split as a client
splits it: one file per pocket, each with the head and its share of the lines,
numbered on. It writes as it goes, so building a 100 MB list costs no memory.
"""

from __future__ import annotations

import re
from pathlib import Path

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "etps-shenyang" / "INV101-import.xml"
_ITEM = re.compile(rb"<InvtListType>.*?</InvtListType>", re.S)
_NUMBER = re.compile(rb"<GdsSeqno>\d+</GdsSeqno>")
_SEPARATOR = b"\n\t\t\t\t\t\t"


def _parts(sample: Path) -> tuple[bytes, list[bytes], bytes]:
    data = sample.read_bytes()
    items = _ITEM.findall(data)
    start, end = data.index(items[0]), data.index(items[-1]) + len(items[-1])
    return data[:start], items, data[end:]


def write_inventory(folder: Path, target_bytes: int, pockets: int = 1, stem: str = "INV101-large",
                    sample: Path = SAMPLE) -> list[Path]:
    """Write a list of about ``target_bytes`` in total, in ``pockets`` files; return their paths."""
    head, items, tail = _parts(sample)
    line_size = sum(len(item) + len(_SEPARATOR) for item in items) / len(items)
    total_lines = max(pockets, int((target_bytes - pockets * (len(head) + len(tail))) / line_size))
    share = -(-total_lines // pockets)
    paths, number = [], 0
    for pocket in range(1, pockets + 1):
        path = folder / (f"{stem}-{pocket}-of-{pockets}.xml" if pockets > 1 else f"{stem}.xml")
        pocket_head = head
        if pockets > 1:
            info = (b"<PocketInfo><pocket_id>HC2026112800001-%032d</pocket_id><total_pocket_qty>%d"
                    b"</total_pocket_qty><cur_pocket_no>%d</cur_pocket_no></PocketInfo>" % (7, pockets, pocket))
            pocket_head = head.replace(b"<DataInfo>", b"<DataInfo>" + info, 1)
        with path.open("wb") as out:
            out.write(pocket_head)
            for _ in range(min(share, total_lines - number)):
                number += 1
                out.write(_NUMBER.sub(b"<GdsSeqno>%d</GdsSeqno>" % number, items[(number - 1) % len(items)],
                                      count=1) + _SEPARATOR)
            out.write(tail)
        paths.append(path)
    return paths
