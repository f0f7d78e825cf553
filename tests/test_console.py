"""The operators' console in a real browser: Debian's headless chromium driven by Playwright.

A hub runs in a thread on the embedded default (local folders, SQLite) with its console on
a free loopback port; the browser signs in as a viewer or an operator and does what an
operator does. Chromium is installed by tests/services.sh; a missing browser fails the
tests, it never skips them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import hub
from conftest import CONFIG, SAMPLES
from console.auth import write_user
from exchange.config import RetryPolicy

pytestmark = [pytest.mark.browser]

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
PASSWORDS = {"ada": ("admin", "admin-password-1"), "olga": ("operator", "operator-password-1"),
             "victor": ("viewer", "viewer-password-1")}


class ConsoleHub:
    """The embedded default with its console, running until closed."""

    def __init__(self, tmp_path: Path):
        users = tmp_path / "console-users.toml"
        for name, (role, password) in PASSWORDS.items():
            write_user(users, name, role, password)
        assembly = hub.assemble(CONFIG, tmp_path / "data")
        settings = dataclasses.replace(assembly.settings, console=dataclasses.replace(
            assembly.settings.console, users=users, port=0))
        self.assembly = dataclasses.replace(assembly, settings=settings)
        self.data_dir = tmp_path / "data"
        self.engine = hub.open_engine(self.assembly)
        self.engine.scan_interval = 0.2
        self.server = hub.build_console(self.assembly, self.engine).start()
        self.url = self.server.url
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.engine.run, kwargs={"poll_interval": 0.05, "stop": self.stop},
                                       daemon=True)
        self.thread.start()

    def drop(self, endpoint: str, data: bytes, name: str) -> None:
        outbox = self.data_dir / endpoint / "OutBox"
        (outbox / f".{name}.part").write_bytes(data)
        (outbox / f".{name}.part").rename(outbox / name)

    def files(self, endpoint: str, box: str) -> list[Path]:
        return sorted(p for p in (self.data_dir / endpoint / box).iterdir() if not p.name.startswith("."))

    def close(self) -> None:
        self.stop.set()
        self.thread.join(30)
        self.server.stop()
        self.engine.close()


@pytest.fixture
def console_hub(tmp_path):
    instance = ConsoleHub(tmp_path)
    yield instance
    instance.close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"no chromium at {CHROMIUM}: tests/services.sh installs it"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def sign_in(page, console_hub, name: str) -> None:
    page.goto(console_hub.url + "/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORDS[name][1])
    page.click("button:has-text('Sign in')")
    page.wait_for_selector("#who")
    assert name in page.inner_text("#who")


def wait_until(condition, timeout: float = 15.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_the_overview_updates_live_as_a_document_flows(console_hub, page):
    sign_in(page, console_hub, "victor")
    page.goto(console_hub.url + "/")
    total = page.locator('[data-figure="total|received"]')
    assert total.inner_text() == "0"
    page.evaluate("window.notReloaded = true")
    console_hub.drop("etps-shenyang", (SAMPLES / "etps-shenyang/INV101-import.xml").read_bytes(), "INV101.xml")
    expect(total).to_have_text("1")
    assert page.evaluate("window.notReloaded") is True  # updated in place, without a reload
    assert "last update" in page.inner_text("#live-state")


def test_a_search_by_business_number_opens_the_documents_trace(console_hub, page):
    console_hub.drop("etps-shenyang", (SAMPLES / "etps-shenyang/INV101-import.xml").read_bytes(), "INV101.xml")
    assert wait_until(lambda: console_hub.files("customs", "InBox"))
    console_hub.drop("customs", (SAMPLES / "customs/INV201-receipt.xml").read_bytes(), "INV201.xml")
    assert wait_until(lambda: console_hub.files("etps-shenyang", "InBox"))
    sign_in(page, console_hub, "victor")
    page.goto(console_hub.url + "/search")
    page.fill("#q", "QD080126I000012345")  # the list number customs assigned
    page.click("#search")
    links = page.locator("#results a")
    assert links.count() == 2  # the list (which learnt the number) and the receipt
    page.locator("#results tr", has_text="INV101").locator("a").click()
    page.wait_for_selector("#timeline")
    timeline = page.inner_text("#timeline")
    for kind in ("RECEIVED", "VALIDATED", "DELIVERED", "CORRELATED", "RECEIPT"):
        assert kind in timeline
    assert "INV101" in page.inner_text("h1")
    assert "RECEIVED" in page.inner_text("#receipts")  # the INV201 it awaited came in time


def _dead_delivery(console_hub) -> Path:
    inbox = console_hub.data_dir / "customs" / "InBox"
    inbox.rmdir()
    inbox.write_text("not a folder")
    endpoints = console_hub.engine.context.endpoints
    endpoints["customs"] = dataclasses.replace(endpoints["customs"], retry=RetryPolicy(1, 0.01, 0.01))
    console_hub.drop("etps-shenyang", (SAMPLES / "etps-shenyang/INV101-import.xml").read_bytes(), "INV101.xml")
    journal = console_hub.engine.journal
    assert wait_until(lambda: journal.failed()["dead"])
    return inbox


def test_a_resubmit_from_the_failures_view_delivers_the_document_and_records_the_operator(console_hub, page):
    inbox = _dead_delivery(console_hub)
    inbox.unlink()
    inbox.mkdir()  # customs is back
    sign_in(page, console_hub, "olga")
    page.goto(console_hub.url + "/failures")
    group = page.locator("section.group", has_text="DEAD")
    group.locator("tbody input[type=checkbox]").first.check()
    group.locator("p.actions input[name=reason]").fill("customs back after maintenance")
    group.locator("button.selected-resubmit").click()
    page.wait_for_selector("#outcome")
    assert "queued again" in page.inner_text("#outcome")
    assert wait_until(lambda: console_hub.files("customs", "InBox")), "the resubmitted copy was not delivered"
    page.goto(console_hub.url + "/audit")
    audit = page.inner_text("#audit")
    assert "RESUBMIT" in audit and "olga" in audit and "customs back after maintenance" in audit
    (document,) = console_hub.engine.journal.documents()
    resubmitted = [e for e in console_hub.engine.journal.events(document["document_id"])
                   if e["kind"] == "RESUBMITTED"]
    assert resubmitted[0]["detail"]["by"] == "olga"


def test_a_viewer_cannot_resubmit(console_hub, page):
    _dead_delivery(console_hub)
    sign_in(page, console_hub, "victor")
    page.goto(console_hub.url + "/failures")
    assert page.locator("section.group").count() == 1
    assert page.locator("button.selected-resubmit").count() == 0  # no such control for a viewer
    delivery_id = console_hub.engine.journal.failed()["dead"][0]["delivery_id"]
    status = page.evaluate("""async (id) => {
        const csrf = document.querySelector('meta[name=csrf]').content;
        const response = await fetch('/failures/resubmit', {method: 'POST',
            headers: {'Content-Type': 'application/x-www-form-urlencoded'},
            body: new URLSearchParams({csrf: csrf, id: id, reason: 'sneaky'})});
        return response.status; }""", delivery_id)
    assert status == 403
    assert console_hub.engine.journal.failed()["dead"]  # still dead: nothing was resubmitted


def test_the_api_and_metrics_follow_the_same_rules(console_hub):
    def call(path: str, user: str | None, body: dict | None = None) -> tuple[int, str]:
        request = urllib.request.Request(console_hub.url + path, method="POST" if body is not None else "GET",
                                         data=json.dumps(body).encode() if body is not None else None)
        if body is not None:
            request.add_header("Content-Type", "application/json")
        if user:
            import base64

            token = base64.b64encode(f"{user}:{PASSWORDS[user][1]}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    console_hub.drop("etps-shenyang", (SAMPLES / "etps-shenyang/INV101-import.xml").read_bytes(), "INV101.xml")
    assert wait_until(lambda: console_hub.files("customs", "InBox"))
    assert call("/api/overview", None)[0] == 401
    status, text = call("/api/overview", "victor")
    assert status == 200 and json.loads(text)["totals"]["received"] == 1
    status, text = call("/metrics", "victor")
    assert status == 200
    assert 'hub_documents{endpoint="etps-shenyang",type="INV101",state="DELIVERED"} 1' in text
    assert "hub_delivery_seconds_count" in text
    assert call("/api/resubmit", "victor", {"ids": ["x"], "reason": "no"})[0] == 403
    status, text = call("/api/resubmit", "olga", {"ids": ["nothing-like-this"], "reason": "try"})
    assert status == 200 and "nothing in the journal" in text


def test_an_operator_edits_a_refused_document_and_resubmits_it_with_a_reason(console_hub, page):
    good = (SAMPLES / "etps-shenyang/INV101-import.xml").read_bytes()
    console_hub.drop("etps-shenyang", good.replace(b"<DclCurrcd>502</DclCurrcd>", b"<DclCurrcd>999</DclCurrcd>", 1),
                     "INV101-typo.xml")
    journal = console_hub.engine.journal
    assert wait_until(lambda: journal.failed()["refused"])
    (refused,) = journal.failed()["refused"]
    sign_in(page, console_hub, "olga")
    page.goto(f"{console_hub.url}/documents/{refused['document_id']}")
    assert "999" in page.inner_text("#issues") and "currency" in page.inner_text("#issues")
    text = page.input_value("textarea[name=body]")
    page.fill("textarea[name=body]", text.replace("<DclCurrcd>999</DclCurrcd>", "<DclCurrcd>502</DclCurrcd>", 1))
    page.check("input[name=edited]")
    page.fill("#resubmit input[name=reason]", "currency code corrected with the enterprise by phone")
    page.click("#resubmit button")
    page.wait_for_selector("#outcome")
    assert "accepted as" in page.inner_text("#outcome")
    assert wait_until(lambda: console_hub.files("customs", "InBox"))
    new = [d for d in journal.documents() if d["resubmission_of"] == refused["document_id"]]
    assert len(new) == 1
    received = journal.events(new[0]["document_id"])[0]["detail"]["resubmission"]
    assert received["by"] == "olga" and received["corrected"] is True


def test_a_group_resubmit_asks_for_confirmation_first(console_hub, page):
    bad = (SAMPLES / "etps-shenyang/INV101-import.xml").read_bytes().replace(b"<DclCurrcd>502<", b"<DclCurrcd>999<", 1)
    for n in range(3):
        console_hub.drop("etps-shenyang", bad.replace(b"0000001</message_id>", b"000000%d</message_id>" % (n + 2)),
                         f"bad-{n}.xml")
    journal = console_hub.engine.journal
    assert wait_until(lambda: len(journal.failed()["refused"]) == 3)
    sign_in(page, console_hub, "olga")
    page.goto(console_hub.url + "/failures")
    group = page.locator("section.group", has_text="invalid")
    group.locator("form.inline input[name=reason]").fill("rules fixed; try again")
    group.locator("button.group-resubmit").click()
    assert "Resubmit 3 items?" in page.inner_text("h1")
    assert len(journal.failed()["refused"]) == 3  # nothing happened before the confirmation
    page.click("#confirm")
    page.wait_for_selector("#outcome")
    assert page.inner_text("#outcome").count("refused again") == 3  # still wrong: each said so


def test_an_alert_is_acknowledged_with_a_reason(console_hub, page):
    _dead_delivery(console_hub)
    sign_in(page, console_hub, "olga")
    page.goto(console_hub.url + "/alerts")
    row = page.locator("#alerts tr", has_text="dead deliveries")
    row.locator("input[name=reason]").fill("customs maintenance window, agreed")
    row.locator("button").click()
    page.wait_for_selector("#alerts")
    assert "acknowledged by olga" in page.locator("#alerts tr", has_text="dead deliveries").inner_text()
    page.goto(console_hub.url + "/audit")
    assert "ACKNOWLEDGED" in page.inner_text("#audit")


def test_failed_sign_ins_are_audited_and_throttled(console_hub):
    import urllib.parse

    def sign_in(password: str) -> int:
        data = urllib.parse.urlencode({"name": "victor", "password": password, "next": "/"}).encode()
        try:
            with urllib.request.urlopen(console_hub.url + "/login", data) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    assert [sign_in("wrong") for _ in range(10)] == [401] * 10
    assert sign_in(PASSWORDS["victor"][1]) == 429  # even the right password waits now
    audit = [e for e in console_hub.engine.journal.events("audit") if e["kind"] == "SIGN_IN_FAILED"]
    assert len(audit) == 10 and audit[0]["detail"]["by"] == "victor"


def test_an_admin_runs_an_endpoints_self_test_from_the_endpoints_page(console_hub, page):
    sign_in(page, console_hub, "olga")
    page.goto(console_hub.url + "/endpoints")
    assert page.locator("button.run-check").count() == 0  # an operator may not
    sign_in(page, console_hub, "ada")
    page.goto(console_hub.url + "/endpoints")
    page.locator("#endpoints-table tr", has_text="customs").first.locator("button.run-check").click()
    page.wait_for_selector("#self-test")
    assert "ready" in page.inner_text("#self-test h2")
    assert "wrote, renamed and deleted a probe" in page.inner_text("#self-test")
    row = page.locator("#endpoints-table tr", has_text="customs").first.inner_text()
    assert "passed" in row and "by ada" in row


def test_the_drift_page_shows_what_customs_sent_that_the_schemas_do_not_describe(console_hub, page):
    receipt = (SAMPLES / "customs/INV201-receipt.xml").read_text(encoding="utf-8")
    data = receipt.replace("<rmk>审核通过</rmk>", "<rmk>审核通过</rmk><fxCheckFlag>1</fxCheckFlag>", 1).encode()
    console_hub.drop("customs", data, "INV201.xml")
    assert wait_until(lambda: console_hub.files("etps-shenyang", "InBox"))  # accepted and delivered
    sign_in(page, console_hub, "victor")
    page.goto(console_hub.url + "/drift")
    group = page.locator(".drift-group")
    expect(group.locator("h2")).to_contain_text("INV201 from customs")
    cells = group.locator("tbody tr").first.locator("td")
    assert [cells.nth(i).inner_text() for i in (0, 1, 4)] == [
        "unknown-element", "/Package/DataInfo/BussinessData/INV201/HdeApprResult/fxCheckFlag", "1"]
