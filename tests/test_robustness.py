"""One bad document, file name or partner never stops the hub or takes other documents down with it."""

from __future__ import annotations

import dataclasses
import os

import pytest
from lxml import etree

import hub
from exchange import engine as engine_module
from exchange.config import RetryPolicy
from exchange.errors import ConfigError
from exchange.journal import now

from conftest import CONFIG, SAMPLES


def test_odd_file_names_are_journaled_and_answered_without_stopping_the_batch(running_hub):
    outbox = running_hub.folder("etps-shenyang", "OutBox")
    good = SAMPLES / "etps-shenyang/INV101-import.xml"
    (outbox / "bad\x01name.xml").write_bytes(b"<not-closed>")
    with open(os.path.join(os.fsencode(outbox), b"caf\xe9.xml"), "wb") as handle:  # not UTF-8
        handle.write(b"<also-not-closed>")
    running_hub.drop("etps-shenyang", good)
    running_hub.run_once()
    states = {d["source_name"]: d["state"] for d in running_hub.journal.documents()}
    assert states == {"bad\\x01name.xml": "REJECTED", "caf\\xe9.xml": "REJECTED", good.name: "DELIVERED"}
    assert len(running_hub.files("etps-shenyang", "FailBox")) == 2
    answers = running_hub.files("etps-shenyang", "InBox")
    assert len(answers) == 2
    for answer in answers:  # the answers are well-formed XML despite the names they quote
        assert etree.fromstring(answer.read_bytes()).findtext("DealFlag") == "-1"


def test_an_internal_error_fails_one_document_and_the_others_go_through(running_hub, monkeypatch):
    real_process = engine_module.process

    def process(data, *args):
        if b"INV101-export" in data or b"<ImpexpMarkcd>E</ImpexpMarkcd>" in data:
            raise RuntimeError("a bug in a pipeline step")
        return real_process(data, *args)

    monkeypatch.setattr(engine_module, "process", process)
    running_hub.drop("etps-shenyang", SAMPLES / "etps-shenyang/INV101-export.xml")
    running_hub.drop("etps-shenyang", SAMPLES / "etps-shenyang/INV101-import.xml")
    running_hub.run_once()
    states = {d["source_name"]: (d["state"], d["reason"]) for d in running_hub.journal.documents()}
    assert states["INV101-import.xml"][0] == "DELIVERED"
    assert states["INV101-export.xml"][0] == "FAILED"
    assert "a bug in a pipeline step" in states["INV101-export.xml"][1]
    assert [p.name for p in running_hub.files("etps-shenyang", "FailBox")] == ["INV101-export.xml"]
    assert len(running_hub.files("customs", "InBox")) == 1


def test_two_copies_in_one_batch_are_delivered_once(running_hub, sample):
    inventory = sample("etps-shenyang/INV101-import.xml")
    running_hub.drop("etps-shenyang", inventory, name="a.xml")
    running_hub.drop("etps-shenyang", inventory, name="b.xml")
    running_hub.run_once()
    assert len(running_hub.files("customs", "InBox")) == 1
    assert sorted(d["state"] for d in running_hub.journal.documents()) == ["DELIVERED", "DUPLICATE"]


def test_a_reused_message_id_with_other_business_content_is_refused(running_hub, sample):
    original = sample("etps-shenyang/INV101-import.xml").read_bytes()
    running_hub.drop("etps-shenyang", original, name="first.xml")
    running_hub.run_once()
    changed = original.replace("<GdsNm>精密轴承座</GdsNm>".encode(), "<GdsNm>精密轴承座(改)</GdsNm>".encode(), 1)
    assert changed != original
    running_hub.drop("etps-shenyang", changed, name="changed.xml")
    running_hub.run_once()
    documents = {d["source_name"]: d for d in running_hub.journal.documents()}
    assert documents["changed.xml"]["state"] == "REJECTED"
    assert "already accepted" in documents["changed.xml"]["reason"]
    assert len(running_hub.files("customs", "InBox")) == 1
    (answer,) = running_hub.files("etps-shenyang", "InBox")
    assert "new message id" in etree.fromstring(answer.read_bytes()).findtext("CheckInfo")


def test_a_symbolic_link_in_an_outbox_is_not_followed(running_hub, tmp_path):
    secret = tmp_path / "secret.xml"
    secret.write_bytes(b"<secret>do not journal me</secret>")
    (running_hub.folder("etps-shenyang", "OutBox") / "link.xml").symlink_to(secret)
    running_hub.run_once()
    assert running_hub.journal.documents() == []


def test_a_delivery_that_keeps_failing_ends_dead_after_its_retries(running_hub, sample):
    inbox = running_hub.folder("customs", "InBox")
    inbox.rmdir()
    inbox.write_text("not a folder")
    endpoints = running_hub.engine.context.endpoints
    endpoints["customs"] = dataclasses.replace(endpoints["customs"], retry=RetryPolicy(3, 0.001, 0.001))
    running_hub.engine.scan_interval = 0.0
    running_hub.drop("etps-shenyang", sample("etps-shenyang/INV101-import.xml"))
    running_hub.run_once()
    (document,) = running_hub.journal.documents()
    (delivery,) = running_hub.journal.deliveries(document["document_id"])
    assert (delivery["state"], delivery["attempts"]) == ("DEAD", 3)
    kinds = [e["kind"] for e in running_hub.journal.events(document["document_id"])]
    assert kinds[-3:] == ["DELIVERY_FAILED", "DELIVERY_FAILED", "DEAD"]


def test_a_due_retry_is_sent_once_the_destination_is_back(running_hub, sample):
    inbox = running_hub.folder("customs", "InBox")
    inbox.rmdir()
    inbox.write_text("not a folder")
    running_hub.drop("etps-shenyang", sample("etps-shenyang/INV101-import.xml"))
    running_hub.run_once()
    (document,) = running_hub.journal.documents()
    assert document["state"] == "ACCEPTED"
    inbox.unlink()
    inbox.mkdir()
    running_hub.journal._db.execute("UPDATE deliveries SET due_at=?", (now(),))  # the backoff has passed
    running_hub.run_once()
    assert len(running_hub.files("customs", "InBox")) == 1
    assert running_hub.journal.documents()[0]["state"] == "DELIVERED"


def test_a_second_hub_on_the_same_data_folder_is_refused(running_hub):
    with pytest.raises(ConfigError, match="another hub is already running"):
        hub.open_engine(hub.assemble(CONFIG, running_hub.data_dir))


def test_thousands_of_schema_errors_are_capped_in_the_answer(running_hub, sample):
    data = sample("etps-shenyang/INV101-import.xml").read_bytes()
    head, rest = data.split(b"<InvtListType>", 1)
    item, tail = rest.split(b"</InvtListType>", 1)
    broken = item.replace(b"<DclQty>", b"<DclQty>x")
    data = head + b"".join(b"<InvtListType>" + broken + b"</InvtListType>" for _ in range(3000)) + tail
    running_hub.drop("etps-shenyang", data, name="many-errors.xml")
    running_hub.run_once()
    (document,) = running_hub.journal.documents()
    assert document["state"] == "REJECTED"
    rejected = [e for e in running_hub.journal.events(document["document_id"]) if e["kind"] == "REJECTED"][0]
    issues = rejected["detail"]["issues"]
    assert len(issues) == 100
    assert "more" in issues[-1]["message"]
