"""Lists too large for one tree: read, checked and converted a slice of lines at a time.

The slice size and the threshold are lowered here so that a list of a few thousand
lines takes the same path a 100 MB one does (bench/large.py measures that one).
"""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path

import pytest
from lxml import etree

import hub
from exchange import streaming
from exchange.pipeline import business_fingerprint, check_document, process, read_document
from exchange.routing import Router, load_rules

sys.path.append(str(Path(__file__).resolve().parent.parent / "bench"))  # last: bench/console.py is no package
from documents import write_inventory  # noqa: E402

CONFIG = Path(__file__).resolve().parent.parent / "config" / "hub.toml"


def _router(folder: Path, map_name: str | None) -> Router:
    folder.mkdir(exist_ok=True)
    target = f'{{ endpoint = "customs", map = "{map_name}" }}' if map_name else '{ endpoint = "customs" }'
    (folder / "route.toml").write_text(f'[[route]]\nname = "lists"\ntype = "INV101"\nfrom = ["etps-*"]\n'
                                       f'to = [{target}]\n')
    rules, _ = load_rules(folder)
    return Router(rules, {"DXPENT0000016069": "etps-shenyang"})


@pytest.fixture
def hub_parts(tmp_path, monkeypatch):
    monkeypatch.setattr(streaming, "SLICE_LINES", 100)
    assembly = hub.assemble(CONFIG, tmp_path / "data")

    def context(map_name: str | None, stream_bytes: int = 64 * 1024):
        folder = tmp_path / f"routes-{map_name}-{stream_bytes}"
        return dataclasses.replace(assembly.context, router=_router(folder, map_name),
                                   limits=dataclasses.replace(assembly.context.limits, stream_bytes=stream_bytes))

    return context


@pytest.fixture
def inventory(tmp_path):
    (path,) = write_inventory(tmp_path, 400 * 1024)  # ~1,300 lines: 14 slices of 100
    return path.read_bytes()


def canonical(data: bytes) -> bytes:
    return etree.tostring(etree.fromstring(data, etree.XMLParser(remove_blank_text=True)), method="c14n")


def fields(body: etree._Element) -> list[tuple[str, str]]:
    tree = body.getroottree()
    return sorted((tree.getpath(element), (element.text or "").strip()) for element in body.iter() if len(element) == 0)


def test_a_list_converted_in_slices_equals_the_list_converted_whole(hub_parts, inventory):
    sliced = process(inventory, "etps-shenyang", "big.xml", hub_parts("inv101-enterprise-to-customs"))
    whole = process(inventory, "etps-shenyang", "big.xml", hub_parts("inv101-enterprise-to-customs", 10**9))
    assert sliced.accepted and whole.accepted, (sliced.error, whole.error)
    validated = sliced.steps[0].detail
    assert validated["lines"] == inventory.count(b"<InvtListType>") and validated["slices"] >= 10
    assert "slices" not in whole.steps[0].detail
    assert canonical(sliced.copies[0].body) == canonical(whole.copies[0].body)


def test_a_large_list_survives_the_round_trip_through_the_customs_dialect(hub_parts, inventory):
    there = process(inventory, "etps-shenyang", "big.xml", hub_parts("inv101-enterprise-to-customs"))
    assert there.accepted, there.error
    customs = there.copies[0].body
    assert customs.count(b"<BondInvtDt>") == inventory.count(b"<InvtListType>")
    back = process(customs, "etps-shenyang", "big-customs.xml", hub_parts("inv101-customs-to-enterprise"))
    assert back.accepted, back.error
    context = hub_parts(None, 10**9)
    _, original = read_document(inventory, context)
    _, returned = read_document(back.copies[0].body, context)
    assert fields(returned.body) == fields(original.body)  # every field and its value, line by line


def test_errors_deep_in_a_large_list_name_the_documents_own_line_and_path(hub_parts, inventory):
    data = inventory.replace(b"<GdsSeqno>1234</GdsSeqno><GdsMtno>", b"<GdsSeqno>1234</GdsSeqno><Bogus/><GdsMtno>")
    data = data.replace(b"<GdsSeqno>1100</GdsSeqno>", b"<GdsSeqno>1111</GdsSeqno>")
    data = data.replace(b"<DclCurrcd>502</DclCurrcd>", b"<DclCurrcd>999</DclCurrcd>", 1)  # line 1's currency
    outcome = process(data, "etps-shenyang", "big.xml", hub_parts("inv101-enterprise-to-customs"))
    assert not outcome.accepted and outcome.copies == []
    issues = outcome.error.issues
    bogus = [i for i in issues if "Bogus" in i.message]
    assert len(bogus) == 1 and bogus[0].path.endswith("/InvtListType[1234]/Bogus")
    assert bogus[0].line == data[:data.index(b"<Bogus/>")].count(b"\n") + 1
    gap = [i for i in issues if "[rule sequence]" in i.message]
    assert gap and "GdsSeqno 1111 at line 1100" in gap[0].message and "/InvtListType[1100]/" in gap[0].path
    currency = [i for i in issues if "code:currency" in i.message]
    assert len(currency) == 1 and "/InvtListType[1]/" in currency[0].path  # reported once, not per slice


def test_a_header_error_in_a_large_list_is_reported_once(hub_parts, inventory):
    data = inventory.replace(b"<ImpexpMarkcd>I</ImpexpMarkcd>", b"<ImpexpMarkcd>Q</ImpexpMarkcd>")
    outcome = process(data, "etps-shenyang", "big.xml", hub_parts(None))
    assert not outcome.accepted
    assert len([i for i in outcome.error.issues if "ImpexpMarkcd" in (i.path or "")]) >= 1
    paths = [i.path for i in outcome.error.issues]
    assert len(paths) == len(set(paths)), paths


def test_lines_interrupted_by_another_element_are_refused_with_the_line(hub_parts, inventory):
    data = inventory.replace(b"<InvtListType><GdsSeqno>700</GdsSeqno>",
                             b"<Rmk>x</Rmk><InvtListType><GdsSeqno>700</GdsSeqno>")
    outcome = process(data, "etps-shenyang", "big.xml", hub_parts(None))
    assert not outcome.accepted
    assert "must stand together" in outcome.error.reason
    assert outcome.error.issues[0].line == data[:data.index(b"<GdsSeqno>700<")].count(b"\n") + 1


@pytest.mark.parametrize("trick", [
    b'<!DOCTYPE Signature [<!ENTITY x "y">]>',
    b'<!DOCTYPE Signature SYSTEM "file:///etc/passwd">',
])
def test_a_large_document_with_a_dtd_is_refused_before_reading(hub_parts, inventory, trick):
    data = inventory.replace(b"?>", b"?>" + trick, 1)
    outcome = process(data, "etps-shenyang", "big.xml", hub_parts(None))
    assert not outcome.accepted and "DOCTYPE" in outcome.error.reason


def test_a_truncated_large_document_is_refused_as_not_well_formed(hub_parts, inventory):
    outcome = process(inventory[: len(inventory) // 2], "etps-shenyang", "big.xml", hub_parts(None))
    assert not outcome.accepted and "not well-formed" in outcome.error.reason


def test_the_business_fingerprint_of_a_sliced_list_sees_every_line(hub_parts, inventory):
    context = hub_parts(None)
    resent = re.sub(rb"<send_time>[^<]*</send_time>", b"<send_time>2026-11-29T08:00:00</send_time>", inventory)
    changed = inventory.replace(b"<GdsSeqno>999</GdsSeqno><GdsMtno>HCM", b"<GdsSeqno>999</GdsSeqno><GdsMtno>XCM")
    assert changed != inventory
    assert business_fingerprint(resent, context) == business_fingerprint(inventory, context)
    assert business_fingerprint(changed, context) != business_fingerprint(inventory, context)


@pytest.mark.slow
def test_the_hub_delivers_a_list_over_the_streaming_threshold_and_recognises_its_resend(running_hub, tmp_path):
    threshold = running_hub.assembly.settings.limits.stream_bytes
    (path,) = write_inventory(tmp_path, threshold + 512 * 1024)
    data = path.read_bytes()
    running_hub.drop("etps-shenyang", data, name="INV101-big.xml")
    running_hub.run_once()
    (document,) = running_hub.journal.documents()
    assert document["state"] == "DELIVERED", document
    (delivered,) = running_hub.files("customs", "InBox")
    assert delivered.read_bytes() == data
    validated = [e for e in running_hub.journal.events(document["document_id"]) if e["kind"] == "VALIDATED"]
    assert validated[0]["detail"]["lines"] == data.count(b"<InvtListType>")
    assert running_hub.journal.body(document["sha256"]) == data  # journaled whole, written in pieces
    resent = re.sub(rb"<send_time>[^<]*</send_time>", b"<send_time>2026-11-29T08:00:00</send_time>", data)
    running_hub.drop("etps-shenyang", resent, name="INV101-big-again.xml")
    running_hub.run_once()
    assert running_hub.journal.documents()[-1]["state"] == "DUPLICATE"
    assert len(running_hub.files("customs", "InBox")) == 1


def _pocket_lines(data: bytes) -> list[bytes]:
    return re.findall(rb"<InvtListType>.*?</InvtListType>", data, re.S)


def test_a_later_pocket_read_in_slices_keeps_its_numbering_checked_across_slices(hub_parts, tmp_path):
    _, second = (p.read_bytes() for p in write_inventory(tmp_path, 800 * 1024, pockets=2))
    lines = _pocket_lines(second)
    first = int(re.search(rb"<GdsSeqno>(\d+)<", lines[0]).group(1))
    assert first > 1  # it runs on from pocket 1
    jumped = second
    for k, line in enumerate(lines[100:], 100):  # a gap of 1000 at a slice boundary
        jumped = jumped.replace(line, re.sub(rb"<GdsSeqno>\d+<", b"<GdsSeqno>%d<" % (first + k + 1000), line,
                                             count=1), 1)
    assert process(second, "etps-shenyang", "p2.xml", hub_parts(None)).accepted
    outcome = process(jumped, "etps-shenyang", "p2.xml", hub_parts(None))
    assert not outcome.accepted
    (gap,) = outcome.error.issues
    assert "[rule sequence]" in gap.message and "/InvtListType[101]/" in gap.path


def test_text_between_large_lines_is_refused_as_the_xsd_would(hub_parts, inventory):
    for number in (150, 333, 1001):
        end = inventory.index(b"</InvtListType>", inventory.index(b"<GdsSeqno>%d<" % number)) + 15
        outcome = process(inventory[:end] + b"JUNK" + inventory[end:], "etps-shenyang", "big.xml",
                          hub_parts("inv101-enterprise-to-customs"))
        assert not outcome.accepted, number
        assert "JUNK" in outcome.error.reason


def test_comments_between_large_lines_are_read_past(hub_parts, inventory):
    marked = inventory.replace(b"<InvtListType><GdsSeqno>700<", b"<!-- page 2 --><?erp x?><InvtListType><GdsSeqno>700<")
    assert marked != inventory
    outcome = process(marked, "etps-shenyang", "big.xml", hub_parts("inv101-enterprise-to-customs"))
    assert outcome.accepted, outcome.error


def test_the_fingerprint_is_the_same_read_whole_or_in_slices_and_ignores_whitespace(hub_parts, inventory):
    spaced = inventory.replace(b"<send_time>", b"\n\n  <send_time>", 1)
    sliced, whole = hub_parts(None), hub_parts(None, 10**9)
    assert business_fingerprint(inventory, sliced) == business_fingerprint(inventory, whole)
    assert business_fingerprint(spaced, sliced) == business_fingerprint(inventory, whole)


def test_hub_validate_checks_a_large_list_in_slices(tmp_path, capsys):
    (path,) = write_inventory(tmp_path, 3 * 1024 * 1024)
    bad = tmp_path / "bad.xml"
    bad.write_bytes(path.read_bytes().replace(b"<GdsSeqno>4321</GdsSeqno>", b"<GdsSeqno>4321</GdsSeqno><Bogus/>"))
    assert hub.main(["--data-dir", str(tmp_path / "data"), "validate", str(path)]) == 0
    assert hub.main(["--data-dir", str(tmp_path / "data"), "validate", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "valid INV101/enterprise" in out and "/InvtListType[4321]/Bogus" in out


def test_a_type_without_lines_over_the_tree_limit_is_refused_before_parsing(hub_parts, sample):
    context = hub_parts(None)
    limits = dataclasses.replace(context.limits, max_tree_bytes=256 * 1024)
    data = sample("etps-shenyang/SAS121-pass.xml").read_bytes()
    big = data.replace(b"</Signature>", b"<!--" + b"x" * (300 * 1024) + b"--></Signature>")
    outcome = process(big, "etps-shenyang", "big.xml", dataclasses.replace(context, limits=limits))
    assert not outcome.accepted and "read as one tree" in outcome.error.reason


def _receipt_listing_lines(sample, count: int) -> bytes:
    line = (b"<BondInvtDt><gdsSeqno>%d</gdsSeqno><gdsMtno>HCM00001</gdsMtno><dclQty>250</dclQty>"
            b"<fxNewField>1</fxNewField></BondInvtDt>\n")
    lines = b"".join(line % n for n in range(1, count + 1))
    return sample("customs/INV201-receipt.xml").read_bytes().replace(b"</BondInvtBsc>", b"</BondInvtBsc>\n" + lines, 1)


def test_a_receipt_over_the_streaming_threshold_listing_its_inventorys_lines_is_read_whole(hub_parts, sample):
    """INV201 has no lines of its own to slice by; the BondInvtDt it lists are no reason to refuse it."""
    data = _receipt_listing_lines(sample, 2000)
    assert len(data) > 64 * 1024
    context = hub_parts(None)
    kind, document, drift = check_document(data, context)
    assert (kind.type, len(document.body.findall("{*}BondInvtDt"))) == ("INV201", 2000)
    assert {(d.kind, d.element) for d in drift} == {("unknown-element", "fxNewField")}
    assert drift[0].path == "/Package/DataInfo/BussinessData/INV201/BondInvtDt[1]/fxNewField"


def test_a_receipt_listing_lines_over_the_tree_limit_is_refused_naming_them(hub_parts, sample):
    data = _receipt_listing_lines(sample, 2000)
    context = hub_parts(None)
    context = dataclasses.replace(context, limits=dataclasses.replace(context.limits, max_tree_bytes=len(data) - 1))
    outcome = process(data, "customs", "big.xml", context)
    assert (outcome.accepted, outcome.error.code) == (False, "refused")
    assert outcome.error.reason == (
        f"the document is {len(data):,} bytes, over the limit of {len(data) - 1:,} bytes for a document read as "
        "one tree; only types with declared lines (inventory lists) are read in slices above that: split it into "
        "pockets")
