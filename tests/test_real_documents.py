"""Real documents from customs, taken from public sources, as the hub reads them.

``tests/real/manifest.toml`` lists every document with its origin and what the hub must do
with it. Each one is validated (the exact outcome: its type, every field of drift, every path
it is refused at), inspected (``hub inspect`` names its type), and routed through a hub on
local folders: a receipt goes back to the enterprise it names, an answer of H2010 to the
declarant of the declaration it answers, a real declaration on to customs, the zone system
or H2010. None of these documents was written for the hub: this is what customs sends.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
from lxml import etree

import hub
from exchange.errors import EnvelopeError, HubError, RefusedInput, UnknownType
from exchange.pipeline import check_document, read_document

from conftest import CONFIG, HOME, SAMPLES, copy_default_config

REAL = HOME / "tests" / "real"
MANIFEST = tomllib.loads((REAL / "manifest.toml").read_text(encoding="utf-8"))
DOCUMENTS = MANIFEST["document"]
IDS = [document["file"] for document in DOCUMENTS]
ASSEMBLY = hub.assemble(CONFIG, Path("/nonexistent-data-dir"))


def outcome(data: bytes, name: str) -> dict:
    """What the hub makes of a document, in the manifest's terms."""
    try:
        kind, document, drift = check_document(data, ASSEMBLY.context, file=name)
    except RefusedInput as exc:
        return {"status": "refused", "reason": exc.reason}
    except UnknownType as exc:
        return {"status": "unknown-type", "reason": exc.reason}
    except EnvelopeError as exc:  # not a customs envelope the hub reads (another system's format)
        return {"status": "envelope", "reason": exc.reason}
    except HubError as exc:
        kind, _ = read_document(data, ASSEMBLY.context)
        return {"status": "invalid", "type": kind.type, "dialect": kind.dialect,
                "issues": sorted({issue.path for issue in exc.issues})}
    return {"status": "valid", "type": kind.type, "dialect": kind.dialect,
            "drift": [f"{item.kind} {item.where}" for item in drift]}


def test_the_corpus_is_what_the_manifest_says():
    """Every file is listed once, with where it came from; nothing is listed that is not there."""
    on_disk = sorted(str(path.relative_to(REAL)) for path in REAL.rglob("*.xml"))
    assert sorted(IDS) == on_disk
    for document in DOCUMENTS:
        assert document["kind"] in ("real", "mock", "template"), document["file"]
        assert ("repo" in document and "path" in document) or "index_id" in document or "page" in document, \
            document["file"]
    assert sum(document["kind"] == "real" for document in DOCUMENTS) >= 25
    assert {d["expect"].get("type") for d in DOCUMENTS if d["expect"]["status"] == "valid"} >= {
        "INV201", "INV202", "INV211", "SAS221", "SAS223", "SAS224", "SAS253", "CommonResponeMessage",
        "DecImportResponse", "DEC_RESULT", "DecMessage", "INV101", "SAS121"}


@pytest.mark.parametrize("document", DOCUMENTS, ids=IDS)
def test_the_hub_reads_a_real_document_as_the_manifest_says(document):
    data = (REAL / document["file"]).read_bytes()
    expected = {key: value for key, value in document["expect"].items() if key not in ("route", "original", "why")}
    assert outcome(data, document["file"]) == expected
    if "without_leading_newline" in document:  # an artifact of the source code it was copied from
        assert outcome(data.lstrip(b"\n"), document["file"]) == document["without_leading_newline"]


def test_every_receipt_and_result_of_the_corpus_is_accepted():
    """The issue's promise: what customs actually sends is read. Only declarations may be refused
    (strict: the hub forwards nothing customs would refuse), and then for what is wrong in them;
    and templates, whose fields a generator has not filled yet."""
    for document in DOCUMENTS:
        expect = document["expect"]
        kinds = [k for k in ASSEMBLY.catalog.kinds if k.type == expect.get("type")]
        if kinds and kinds[0].policy == "tolerant" and document["kind"] != "template":
            assert expect["status"] == "valid", document["file"]
    refused = [d for d in DOCUMENTS if d["expect"]["status"] == "invalid" and d["kind"] != "template"]
    assert {d["expect"]["type"] for d in refused} == {"DecMessage"}
    for document in refused:  # placeholders (######, None) or an empty ClientSeqNo left in real ones
        text = (REAL / document["file"]).read_text(encoding="utf-8")
        assert "######" in text or "<ClientSeqNo />" in text, document["file"]


def test_hub_validate_accepts_the_real_receipts_and_names_what_it_did_not_know(capsys):
    files = [str(REAL / d["file"]) for d in DOCUMENTS if d["expect"]["status"] == "valid"]
    assert hub.main(["validate", "--json", *files]) == 0
    results = json.loads(capsys.readouterr().out)
    assert {r["status"] for r in results} == {"valid"}
    warned = {r["file"]: [w["path"] for w in r["warnings"]] for r in results if r["warnings"]}
    assert warned == {
        str(REAL / "hde/data-interface/SAS221_audit_with_bsc_rlt.xml"):
            ["/Package/DataInfo/BussinessData/SAS221/HdeApprResult/manageResult"],  # manageResult 9
        str(REAL / "hde/data-interface/INV202_generate_entry.xml"):
            ["/Package/DataInfo/BussinessData/INV202/InvApprResult/manageResult"],  # manageResult 0
    }


@pytest.mark.parametrize("document", [d for d in DOCUMENTS if d["expect"]["status"] in ("valid", "invalid")],
                         ids=lambda d: d["file"])
def test_hub_inspect_names_a_real_documents_type(document, capsys):
    assert hub.main(["inspect", str(REAL / document["file"])]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["catalog"]["type"] == document["expect"]["type"]
    assert facts["catalog"]["policy"] == ("strict" if document["expect"]["type"] in ("DecMessage", "INV101",
                                                                                   "SAS121") else "tolerant")
    if facts["shape"] == "import-message":  # the single-window wrapper names the declaration inside it
        assert facts["declaration"]["root"] == "DecMessage"
        assert facts["declaration"]["message_id"] == facts["keys"].get("client_seq_no", "")


# -- routing: a hub on local folders whose parties use the corpus's own ids ------------------

def _senders_and_receivers() -> tuple[set[str], set[str], set[str]]:
    authority, declarant, named = set(), set(), set()
    for document in DOCUMENTS:
        if document["expect"]["status"] != "valid":
            continue
        _, read = read_document((REAL / document["file"]).read_bytes(), ASSEMBLY.context)
        business = read.business
        if document["expect"]["route"] == "etps-real":
            authority.add(business.sender)
            named.update(business.receivers)
        elif document["expect"]["route"]:
            declarant.add(business.sender)
    return authority - {""}, declarant - {""}, named


def _deployment(tmp_path: Path) -> Path:
    """The embedded default, its enterprise taking the corpus's receiver and declarant ids."""
    config = copy_default_config(tmp_path).parent
    authority, declarant, named = _senders_and_receivers()
    enterprise = (config / "endpoints" / "etps-shenyang.toml").read_text()
    ids = sorted({"DXPENT0000016069", "2101980456"} | declarant | named)
    enterprise = re.sub(r"(?m)^ids = .*$", "ids = " + json.dumps(ids), enterprise)
    enterprise = re.sub(r"(?m)^declares_for = .*$", "", enterprise)  # real declarants are not ours
    (config / "endpoints" / "etps-real.toml").write_text(enterprise.replace('folder = "etps-shenyang"',
                                                                            'folder = "etps-real"'))
    (config / "endpoints" / "etps-shenyang.toml").unlink()
    customs = (config / "endpoints" / "customs.toml").read_text()
    customs = re.sub(r"(?m)^ids = .*$", "ids = " + json.dumps(sorted({"CUS0000", "DXPDSWNEMS000001"} | authority)),
                     customs)
    customs = re.sub(r"(?m)^may_send = .*$", 'may_send = ["INV2##", "SAS2##", "CommonResponeMessage"]', customs)
    (config / "endpoints" / "customs.toml").write_text(customs)
    return config / "hub.toml"


def _originals(keys: dict[str, str], number: int) -> list[tuple[str, bytes]]:
    """What a bare answer answers, made from the hub's own samples with the answer's numbers: the
    documents to send first, and from which party."""
    if "etps_inner_no" in keys:  # an import acknowledgement: an inventory list with that own number
        tree = etree.parse(str(SAMPLES / "etps-shenyang" / "INV101-import.xml"))
        tree.find(".//{*}EtpsInnerInvtNo").text = keys["etps_inner_no"]
        tree.find(".//{*}EnvelopInfo/{*}message_id").text = f"DXPENT0000016069REAL{number:020d}"
        return [("etps-real", etree.tostring(tree, xml_declaration=True, encoding="UTF-8"))]
    declaration = etree.parse(str(SAMPLES / "h2010" / "DecMessage-import.xml"))
    client_seq_no = keys.get("client_seq_no") or f"HCDREAL{number:011d}"
    declaration.find(".//{*}DecSign/{*}ClientSeqNo").text = client_seq_no
    documents = [("etps-real", etree.tostring(declaration, xml_declaration=True, encoding="UTF-8"))]
    if "entry_seq_no" in keys:  # a result: H2010 numbered the declaration in its import response first
        response = etree.parse(str(SAMPLES / "h2010" / "DecImportResponse-accepted.xml"))
        response.find("{*}ClientSeqNo").text = client_seq_no
        response.find("{*}SeqNo").text = keys["entry_seq_no"]
        documents.append(("h2010", etree.tostring(response, xml_declaration=True, encoding="UTF-8")))
    return documents


def _drop(data_dir: Path, endpoint: str, name: str, data: bytes) -> None:
    partial = data_dir / endpoint / "OutBox" / f".{name}.part"
    partial.write_bytes(data)
    partial.rename(data_dir / endpoint / "OutBox" / name)


ROUTED = [document for document in DOCUMENTS if document["expect"].get("route")]


@pytest.mark.parametrize("document", ROUTED, ids=[document["file"] for document in ROUTED])
def test_a_real_receipt_goes_back_to_the_enterprise_it_names_and_a_real_declaration_goes_on(document, tmp_path):
    """Each in a hub of its own: some public fixtures reuse one message id for different receipts,
    which a hub rightly refuses as a reused id (tests/test_receipts.py), and is not what this shows."""
    data_dir = tmp_path / "data"
    engine = hub.open_engine(hub.assemble(_deployment(tmp_path), data_dir))
    expect = document["expect"]
    try:
        for step, (party, original) in enumerate(_originals(expect["original"], 0) if "original" in expect else []):
            _drop(data_dir, party, f"original-{step}.xml", original)
            engine.run(once=True)
        sender = "etps-real" if expect["route"] in ("customs", "zone", "h2010") else (
            "h2010" if expect["type"] in ("DecImportResponse", "DEC_RESULT", "DEC_DATA", "DecModSaveResponse")
            else "customs")
        data = (REAL / document["file"]).read_bytes()
        _drop(data_dir, sender, "real.xml", data)
        engine.run(once=True)
        journal = engine.journal
        originals = [d for d in journal.documents() if d["source_name"].startswith("original-")]
        assert [d["state"] for d in originals] == ["DELIVERED"] * len(originals)
        (row,) = [d for d in journal.documents() if d["source_name"] == "real.xml"]
        assert (row["state"], row["reason"]) == ("DELIVERED", "")
        deliveries = journal.deliveries(row["document_id"])
        assert [(d["endpoint"], d["state"]) for d in deliveries] == [(expect["route"], "DELIVERED")]
        if expect["route"] == "etps-real":  # a receipt reaches the enterprise as customs wrote it
            assert journal.body(deliveries[0]["sha256"]) == data
            if "original" in expect:  # ... and is journaled as the answer to the declaration it answers
                answered = originals[-1] if expect["type"] != "DEC_RESULT" else originals[0]
                assert any(e["kind"] == "RECEIPT" and e["detail"]["receipt"] == row["document_id"]
                           for e in journal.events(answered["document_id"]))
    finally:
        engine.close()


def test_a_receipt_addressed_to_a_party_the_hub_does_not_know_is_refused_saying_so(running_hub):
    """The embedded default has no endpoint for E010000: a real receipt for it is unroutable, with why."""
    running_hub.drop("customs", REAL / "hde/gx-customs-bridge/INV201_prevd_4_no_xmldecl.xml")
    running_hub.run_once()
    (row,) = running_hub.journal.documents()
    assert row["state"] == "REJECTED"
    assert row["reason"] == "no route for INV201 from endpoint customs (no endpoint owns receiver id E010000)"
