"""Peak memory and time of a large inventory list through the hub, whole and in pockets.

    .venv/bin/python bench/large.py [--mb 100] [--pockets 10]

Builds a valid INV101 of --mb megabytes from the sample's lines, then, each in a
fresh process so that one figure cannot inherit another's peak:
- whole: the list dropped in the enterprise's OutBox, read by the hub, checked
  (XSD and business rules) and converted to the customs dialect by the
  inv101-enterprise-to-customs map a slice of lines at a time, the output
  checked, both journaled, and delivered to customs' InBox;
- pockets: the same list split in --pockets pockets, each forwarded as it is.
Prints the time, the peak RSS, the RSS the hub had before the document arrived,
and the growth over that baseline as a multiple of the document's size (the
issue's target: under 4x).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HOME = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HOME))
sys.path.insert(0, str(HOME / "bench"))

ROUTE = """
[[route]]
name = "inventory-lists-to-customs-converted"
type = "INV101"
from = ["etps-*"]
to = [{ endpoint = "customs", map = "inv101-enterprise-to-customs" }]
"""


def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _config(folder: Path, convert: bool) -> Path:
    """The embedded default with its own data dir and, when converting, a route that converts."""
    routes = folder / "routes"
    routes.mkdir()
    if convert:
        (routes / "large.toml").write_text(ROUTE)
    else:
        (routes / "enterprise.toml").write_text((HOME / "routes" / "enterprise.toml").read_text().split("[[test]]")[0])
    text = (HOME / "config" / "hub.toml").read_text()
    text = text.replace('catalog = "../schemas/catalog.toml"', f'catalog = "{HOME / "schemas" / "catalog.toml"}"')
    text = text.replace('routes = "../routes"', f'routes = "{routes}"')
    text = text.replace('endpoints = "endpoints"', f'endpoints = "{HOME / "config" / "endpoints"}"')
    text = text.replace('data_dir = "../var/embedded"', f'data_dir = "{folder / "data"}"')
    config = folder / "hub.toml"
    config.write_text(text)
    return config


def child(files: list[str], convert: bool) -> dict:
    """One measurement, in this process: the hub takes the files and delivers them."""
    import hub
    from exchange import logs

    logs.configure("json", "info", stream=open("/dev/null", "w"))
    folder = Path(tempfile.mkdtemp(prefix="hub-large-"))
    assembly = hub.assemble(_config(folder, convert))
    engine = hub.open_engine(assembly)
    outbox = engine.inbound["etps-shenyang"].outbox
    size = 0
    for name in files:
        source = Path(name)
        size += source.stat().st_size
        source.rename(outbox / source.name)
    baseline = _rss_mib()
    started = time.perf_counter()
    engine.run(once=True)
    seconds = time.perf_counter() - started
    documents = engine.journal.documents()
    delivered = sum(p.stat().st_size for p in (folder / "data" / "customs" / "InBox").iterdir())
    engine.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"states": sorted({d["state"] for d in documents}), "documents": len(documents), "size": size,
            "delivered": delivered, "seconds": seconds, "baseline": baseline, "peak": peak}


def measure(label: str, files: list[Path], convert: bool) -> None:
    largest = max(f.stat().st_size for f in files) / 2**20  # the child moves the files away
    output = subprocess.run([sys.executable, __file__, "--child", json.dumps([str(f) for f in files]),
                             *(["--convert"] if convert else [])], check=True, capture_output=True, text=True)
    result = json.loads(output.stdout.strip().splitlines()[-1])
    size = result["size"] / 2**20
    growth = result["peak"] - result["baseline"]
    print(f"{label}: {result['documents']} document(s), {size:,.1f} MiB in, "
          f"{result['delivered'] / 2**20:,.1f} MiB delivered, states {', '.join(result['states'])}")
    print(f"  time {result['seconds']:,.1f} s ({size / result['seconds']:,.1f} MiB/s)")
    print(f"  peak RSS {result['peak']:,.0f} MiB; before the document {result['baseline']:,.0f} MiB; "
          f"growth {growth:,.0f} MiB = {growth / size:.2f}x the document "
          f"(largest single document {largest:,.1f} MiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=100)
    parser.add_argument("--pockets", type=int, default=10)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--convert", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child), args.convert)))
        return
    from documents import write_inventory

    work = Path(tempfile.mkdtemp(prefix="hub-large-docs-"))
    target = int(args.mb * 2**20)
    whole = write_inventory(work, target)
    sizes = [f.stat().st_size for f in whole]
    measure(f"whole list, converted to the customs dialect ({sizes[0] / 2**20:,.1f} MiB)", whole, convert=True)
    pockets = write_inventory(work, target, pockets=args.pockets, stem="INV101-pockets")
    measure(f"the same list in {args.pockets} pockets, forwarded pocket by pocket", pockets, convert=False)
    pockets = write_inventory(work, target, pockets=args.pockets, stem="INV101-pockets-converted")
    measure(f"the same list in {args.pockets} pockets, each converted", pockets, convert=True)


if __name__ == "__main__":
    main()
