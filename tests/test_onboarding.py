"""Connecting a new partner by configuration: docs/onboarding.md followed step by step against
the real sshd and RabbitMQ, and configuration reloaded under a running hub without losing a document."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

import hub
from conftest import HOME, SAMPLES
from deployment import RunningHub, deploy, journal_count, numbered, wait_until

INV101 = (SAMPLES / "etps-shenyang/INV101-import.xml").read_bytes()
TOTAL = 3000
PORT_ROUTE = """
[[route]]
name = "inventory-lists-to-the-port-authority"
type = "INV101"
from = ["etps-*"]
to = [{ endpoint = "agency-port" }]
"""


def _own_routes(config) -> None:
    """Point a deployment at a copy of the routes, so a test can add one."""
    routes = config.parent / "routes"
    shutil.copytree(HOME / "routes", routes)
    for beside in ("schemas", "samples"):  # what the routes' paths (tests, stylesheets) name
        (config.parent / beside).symlink_to(HOME / beside)
    text = config.read_text()
    config.write_text(re.sub(r'^routes = "[^"]*"', f'routes = "{routes}"', text, flags=re.M))


@pytest.mark.amqp
@pytest.mark.sftp
def test_a_seventh_agency_is_connected_by_following_the_walkthrough(tmp_path, broker, sshd, capsys):
    config, parties = deploy(tmp_path, {"etps-shenyang": "local", "customs": "amqp", "zone": "local"}, broker, sshd)
    _own_routes(config)
    folder = sshd.root / f"agency-port-{tmp_path.name[-6:]}"
    for box in ("OutBox", "InBox", "SentBox", "FailBox"):
        (folder / box).mkdir(parents=True)
    add = ["--config", str(config), "endpoint", "add", "agency-port", "--party", "agency", "--transport", "sftp",
           "--contact", "it@port.example.gov.cn", "--dialect", "enterprise", "--ids", "REV-PORT",
           "--may-send", "INV101", "--may-receive", "INV101", "--host", "127.0.0.1", "--port", str(sshd.port),
           "--username", sshd.user, "--private-key-file", str(sshd.client_key), "--folder", str(folder)]
    # 1. add the endpoint: the host key is shown first, and pinned only once confirmed
    capsys.readouterr()
    assert hub.main(add) == 3
    offered = re.search(r"SHA256:\S+", capsys.readouterr().err).group(0)
    assert offered == sshd.host_key_sha256
    assert not (config.parent / "endpoints" / "agency-port.toml").exists()
    assert hub.main(add + ["--accept-fingerprint", offered]) == 0
    written = (config.parent / "endpoints" / "agency-port.toml").read_text()
    assert f'host_key_sha256 = "{offered}"' in written and "password" not in written
    # 2. its self-test, journaled
    assert hub.main(["--config", str(config), "endpoint", "check", "agency-port", "--by", "li.ming"]) == 0
    out = capsys.readouterr().out
    for step in ("the host key or certificate is trusted", "authentication", "list, write, rename and delete"):
        assert re.search(rf"^ok +{re.escape(step)}", out, re.M), out
    # 3. a route to it, and a document delivered
    (config.parent / "routes" / "port.toml").write_text(PORT_ROUTE)
    capsys.readouterr()
    assert hub.main(["--config", str(config), "route", str(SAMPLES / "etps-shenyang/INV101-import.xml")]) == 0
    assert "agency-port" in capsys.readouterr().out
    with RunningHub(config) as running:
        (tmp_path / "data" / "etps-shenyang" / "OutBox" / "INV101.xml").write_bytes(INV101)
        assert wait_until(lambda: [p for p in (folder / "InBox").iterdir() if p.name.startswith("INV101_")])
        # 4. a document claiming another party's sender id is refused, answered and never routed
        (folder / "OutBox" / "forged.xml").write_bytes(numbered(INV101, 77))  # DXPENT0000016069's id
        assert wait_until(lambda: [p for p in (folder / "InBox").iterdir() if p.name.startswith("Failed_")])
        journal = running.journal()
        forged = [d for d in journal.documents() if d["endpoint"] == "agency-port"]
        checks = [e for e in journal.events("endpoint:agency-port") if e["kind"] == "SELF_TEST"]
        journal.close()
    assert forged[0]["state"] == "REJECTED"
    assert "endpoint agency-port may not send as DXPENT0000016069" in forged[0]["reason"]
    assert [p.name for p in (folder / "InBox").iterdir() if p.name.startswith("INV101_")] == \
        [p.name for p in (folder / "InBox").iterdir() if p.name.startswith("INV101_")][:1]  # only the one
    assert checks and checks[0]["detail"]["by"] == "li.ming"




def test_configuration_reloads_under_a_running_hub_without_losing_a_document(tmp_path):
    config_dir = tmp_path / "config"
    shutil.copytree(HOME / "config", config_dir, ignore=shutil.ignore_patterns("examples"))
    config = config_dir / "hub.toml"
    text = config.read_text().replace('catalog = "../schemas/catalog.toml"',
                                      f'catalog = "{HOME / "schemas" / "catalog.toml"}"')
    config.write_text(text.replace('routes = "../routes"', 'routes = "../routes"'))
    shutil.copytree(HOME / "routes", tmp_path / "routes")
    for beside in ("schemas", "samples"):
        (tmp_path / beside).symlink_to(HOME / beside)
    data = tmp_path / "data"
    cli = [sys.executable, str(HOME / "hub.py"), "--config", str(config), "--data-dir", str(data)]
    outbox = data / "etps-shenyang" / "OutBox"
    outbox.mkdir(parents=True)
    for n in range(TOTAL):
        (outbox / f".{n}.part").write_bytes(numbered(INV101, n))
        (outbox / f".{n}.part").rename(outbox / f"list-{n:04d}.xml")
    journal = data / "journal.sqlite"
    log = open(tmp_path / "hub.log", "wb")
    running = subprocess.Popen([*cli, "run"], stdout=log, stderr=log)
    try:
        assert wait_until(lambda: journal_count(journal, "SELECT COUNT(*) FROM documents") >= 200, timeout=60, step=0.02)
        # an invalid new file is refused: the old configuration stays in force
        broken = config_dir / "endpoints" / "agency-port.toml"
        broken.write_text('party = "agency"\nids = ["REV-PORT"]\n')
        result = subprocess.run([*cli, "reload"], capture_output=True, text=True)
        assert result.returncode == 2 and "agency-port.toml: transport: is required" in result.stderr
        assert "keeps its configuration" in result.stderr
        refusals = (tmp_path / "hub.log").read_text().count("config.reload_refused")
        running.send_signal(signal.SIGHUP)  # even when signalled directly
        assert wait_until(lambda: (tmp_path / "hub.log").read_text().count("config.reload_refused") > refusals,
                          timeout=30, step=0.05)
        assert running.poll() is None
        broken.unlink()
        # a valid new endpoint and route are taken up while documents flow
        assert hub.main(["--config", str(config), "--data-dir", str(data), "endpoint", "add", "agency-port",
                         "--party", "agency", "--transport", "local", "--contact", "it@port.example.gov.cn",
                         "--dialect", "enterprise", "--ids", "REV-PORT", "--may-receive", "INV101"]) == 0
        (tmp_path / "routes" / "port.toml").write_text(PORT_ROUTE)
        before = journal_count(journal, "SELECT COUNT(*) FROM documents")
        result = subprocess.run([*cli, "reload"], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        for n in range(TOTAL, TOTAL + 5):  # sent after the reload: they go to the new endpoint too
            (outbox / f"late-{n}.xml").write_bytes(numbered(INV101, n))
        customs = data / "customs" / "InBox"
        assert wait_until(lambda: len(list(customs.iterdir())) == TOTAL + 5, timeout=120), len(list(customs.iterdir()))
        assert wait_until(lambda: len(list((data / "agency-port" / "InBox").iterdir())) >= 5, timeout=30)
    finally:
        running.send_signal(signal.SIGTERM)
        running.wait(60)
        log.close()
    logged = (tmp_path / "hub.log").read_text()
    assert "config.reload_refused" in logged and "config.reloaded" in logged
    assert journal_count(journal, "SELECT COUNT(DISTINCT message_id) FROM documents WHERE state='DELIVERED'") == TOTAL + 5
    assert journal_count(journal, "SELECT COUNT(*) FROM documents WHERE state NOT IN ('DELIVERED')") == 0
    assert journal_count(journal, "SELECT COUNT(*) FROM deliveries WHERE state != 'DELIVERED'") == 0
    port = len(list((data / "agency-port" / "InBox").iterdir()))
    assert 5 <= port <= TOTAL + 5 - before  # documents routed after the reload also reach the new endpoint
    print(f"\nreload: {before} of {TOTAL} documents journaled when the new configuration was taken up; "
          f"{TOTAL + 5} delivered to customs once each, {port} to the new endpoint, none lost or doubled")


@pytest.mark.amqp
def test_an_amqp_endpoints_self_test_publishes_a_probe_and_consumes_it_back(tmp_path, broker, capsys):
    config, _ = deploy(tmp_path, {"etps-shenyang": "local", "customs": "amqp", "zone": "local"}, broker)
    with RunningHub(config):  # the hub declares customs' exchange and queues when it connects
        pass
    capsys.readouterr()
    assert hub.main(["--config", str(config), "endpoint", "check", "customs", "--json", "--by", "ops"]) == 0
    report = json.loads(capsys.readouterr().out)
    outcomes = {step["name"]: step["outcome"] for step in report["steps"]}
    assert outcomes["authentication"] == "ok"
    assert outcomes["the exchange and queues exist (passive declare)"] == "ok"
    assert outcomes["publish a probe (mandatory, confirmed) and consume it back"] == "ok"
    assert outcomes["the host key or certificate is trusted"] == "skipped"  # plain AMQP here
    assert broker.take_all(broker.send_queue("customs")) == []  # the probe never reached customs
    # a wrong exchange fails the step that needs it, and skips those after it
    endpoint_file = config.parent / "endpoints" / "customs.toml"
    endpoint_file.write_text(endpoint_file.read_text().replace(".hub.to-customs", ".hub.to-nowhere"))
    assert hub.main(["--config", str(config), "endpoint", "check", "customs", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    outcomes = {step["name"]: step["outcome"] for step in report["steps"]}
    assert outcomes["the exchange and queues exist (passive declare)"] == "failed"
    assert outcomes["publish a probe (mandatory, confirmed) and consume it back"] == "skipped"


def test_a_canary_shows_what_the_hub_would_do_with_a_partners_document(capsys):
    sample = str(SAMPLES / "etps-shenyang/INV101-import.xml")
    assert hub.main(["endpoint", "check", "etps-shenyang", "--canary", sample]) == 0
    assert "would be accepted and go to customs" in capsys.readouterr().out
    assert hub.main(["endpoint", "check", "zone", "--canary", sample]) == 1
    out = capsys.readouterr().out
    assert "would be refused (unauthorized)" in out and "may not send as DXPENT0000016069" in out


def test_receipts_an_endpoint_owes_are_awaited_for_what_it_receives(running_hub, sample):
    endpoints = running_hub.engine.context.endpoints
    endpoints["zone"] = dataclasses.replace(endpoints["zone"], owes=(("SAS223", "SAS121", 1800.0),))
    running_hub.drop("etps-shenyang", sample("etps-shenyang/SAS121-pass.xml"))
    running_hub.run_once()
    owed = [e for e in running_hub.journal.expectations() if e["endpoint"] == "zone"]
    # SAS221 from the route's expect, SAS223 because the zone's endpoint file says it owes one
    assert sorted((e["receipt_type"], e["state"]) for e in owed) == [("SAS221", "WAITING"), ("SAS223", "WAITING")]
    assert all(e["due_at"] for e in owed)  # delivered: both clocks run
