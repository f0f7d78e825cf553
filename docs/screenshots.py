"""Screenshots of the console for the README: the demo's traffic, seen by an operator.

    .venv/bin/python docs/screenshots.py     (writes docs/img/console-*.png; needs /usr/bin/chromium)
"""

from __future__ import annotations

import dataclasses
import re
import sys
import tempfile
from pathlib import Path

HOME = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HOME))

import hub  # noqa: E402
from console.auth import write_user  # noqa: E402


def main() -> None:
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="hub-screenshots-"))
    hub.main(["--data-dir", str(work / "data"), "demo"])
    users = work / "users.toml"
    write_user(users, "wang.li", "operator", "screenshot-password")
    assembly = hub.assemble(hub.DEFAULT_CONFIG, work / "data")
    settings = dataclasses.replace(assembly.settings, console=dataclasses.replace(
        assembly.settings.console, users=users, port=0))
    server = hub.build_console(dataclasses.replace(assembly, settings=settings)).start()
    out = HOME / "docs" / "img"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(server.url + "/login")
        page.fill("input[name=name]", "wang.li")
        page.fill("input[name=password]", "screenshot-password")
        page.click("button:has-text('Sign in')")
        page.wait_for_selector("#who")
        page.screenshot(path=str(out / "console-overview.png"), full_page=False)
        page.goto(server.url + "/search?q=HC2026112800001&state=DELIVERED&type=INV101")
        first = re.search(r"/documents/([0-9a-f]{32})", page.content()).group(1)
        page.goto(f"{server.url}/documents/{first}")
        page.screenshot(path=str(out / "console-document.png"), full_page=False)
        page.goto(server.url + "/failures")
        page.screenshot(path=str(out / "console-failures.png"), full_page=False)
        browser.close()
    server.stop()
    print(f"written to {out}")


if __name__ == "__main__":
    main()
