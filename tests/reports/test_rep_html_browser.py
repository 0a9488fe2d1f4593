"""The HTML report in headless Chromium: what a reader sees, and that sorting and filtering work.

Chromium is driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: JSON
messages separated by NUL bytes on file descriptors 3 and 4), so the test needs nothing but
the standard library and Debian's `chromium` package (`scripts/install-browser`). Clicks and
typing are real input events (Input.dispatchMouseEvent / Input.insertText), not calls of
the page's functions. Without /usr/bin/chromium the tests skip and say why.

ROOTCTL_SCREENSHOT_DIR=DIR keeps the screenshot (for CI artifacts or a look by eye).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from rootctl.credentials.models import (
    AccessKey,
    AccountAudit,
    AuditReport,
    MfaDevice,
    Password,
    RootCredentials,
    SigningCertificate,
)
from rootctl.reports.html_report import HtmlWriter
from rootctl.results import ErrorInfo

CHROMIUM = Path(os.environ.get("ROOTCTL_CHROMIUM", "/usr/bin/chromium"))
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"{CHROMIUM} is absent: run scripts/install-browser (Debian: apt-get install chromium)",
)
EVIL = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
OPERATOR = "arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Admin/alice@example.com"


def _day(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def sample_report() -> AuditReport:
    """Four findings (one named with markup), two clean, one error, one skipped."""
    root = RootCredentials
    accounts = (
        AccountAudit(
            "333333333333",
            "payments-prod",
            "/root/workloads/prod",
            "ok",
            True,
            root(
                password=Password(True, _day(2019, 4, 2), _day(2024, 8, 30)),
                access_keys=(AccessKey("AKIAROOT1", "Active", _day(2019, 4, 2)),),
                mfa_devices=(MfaDevice("arn:aws:iam::333333333333:mfa/root", "virtual"),),
            ),
        ),
        AccountAudit(
            "444444444444",
            "payments-dev",
            "/root/workloads/dev",
            "ok",
            True,
            root(
                password=Password(True),
                signing_certificates=(SigningCertificate("CERT1", "Active"),),
            ),
        ),
        AccountAudit(
            "555555555555",
            "data-prod",
            "/root/workloads/prod",
            "ok",
            True,
            root(
                access_keys=(
                    AccessKey("AKIAROOT2", "Inactive"),
                    AccessKey("AKIAROOT3", "Inactive"),
                ),
                mfa_devices=(MfaDevice("GAHT1", "hardware"),),
            ),
        ),
        AccountAudit("888888888888", EVIL, "/root/sandbox", "ok", True, root(Password(True))),
        AccountAudit("666666666666", "experiments", "/root/sandbox", "ok", False, root()),
        AccountAudit("222222222222", "security-tooling", "/root/security", "ok", False, root()),
        AccountAudit(
            "999999999999",
            "broken",
            "/root/workloads/dev",
            "error",
            error=ErrorInfo("AccessDenied", "not authorized to perform sts:AssumeRoot"),
        ),
        AccountAudit(
            "777777777777",
            "legacy-billing",
            "/root/workloads/prod",
            "skipped",
            error=ErrorInfo("Skipped", "account is SUSPENDED"),
        ),
    )
    return AuditReport(_day(2026, 3, 1), "o-a1b2c3d4e5", OPERATOR, accounts)


def _high(fds: tuple[int, int]) -> tuple[int, int]:
    moved = tuple(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in fds)
    for fd in fds:
        os.close(fd)
    return moved[0], moved[1]


class Chromium:
    """Just enough of the DevTools protocol over a pipe to load a page, click, type and look."""

    def __init__(self, profile: Path) -> None:
        # Chromium's ends go to fd 10 and up, so bash's `3<&N 4>&M` never overwrites one of
        # them before it is copied (a pipe end may well have number 3 or 4 here). Not sh:
        # dash only knows single-digit descriptors.
        self._to_chrome_r, self._to_chrome = _high(os.pipe())
        self._from_chrome, self._from_chrome_w = _high(os.pipe())
        args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--hide-scrollbars",
            "--window-size=1280,1000",
            f"--user-data-dir={profile}",
            "--remote-debugging-pipe",
            "about:blank",
        ]
        # Chromium reads commands from fd 3 and writes answers to fd 4.
        script = f'exec "$0" "$@" 3<&{self._to_chrome_r} 4>&{self._from_chrome_w}'
        self.proc = subprocess.Popen(
            ["/bin/bash", "-c", script, str(CHROMIUM), *args],
            pass_fds=(self._to_chrome_r, self._from_chrome_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(self._to_chrome_r)
        os.close(self._from_chrome_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        self.session = ""

    def call(self, method: str, timeout: float = 20, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if self.session and not method.startswith(("Target.", "Browser.")):
            message["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            answer = self._read(deadline)
            if answer.get("id") != self._next_id:
                self.events.append(answer)
                continue
            if "error" in answer:
                raise RuntimeError(f"{method}: {answer['error']}")
            result: dict[str, Any] = answer["result"]
            return result

    def wait_for(self, method: str, since: int = 0, timeout: float = 20) -> dict[str, Any]:
        """The first `method` event from events[since:] on, waiting for it if need be."""
        deadline = time.monotonic() + timeout
        for seen in self.events[since:]:
            if seen.get("method") == method:
                return seen
        while True:
            event = self._read(deadline)
            self.events.append(event)
            if event.get("method") == method:
                return event

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._from_chrome], [], [], max(left, 0))
            if not ready:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._from_chrome, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    def open(self, url: str) -> None:
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Network"):
            self.call(f"{domain}.enable")
        # Before any page script: remember CSP violations and alert() calls.
        self.call(
            "Page.addScriptToEvaluateOnNewDocument",
            source=(
                "window.__csp = []; window.alert = function () { window.__pwned = 3; };"
                "document.addEventListener('securitypolicyviolation',"
                " function (e) { window.__csp.push(e.violatedDirective + ' ' + e.blockedURI); });"
            ),
        )
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")

    def reload(self) -> None:
        mark = len(self.events)
        self.call("Page.reload", ignoreCache=True)
        self.wait_for("Page.loadEventFired", since=mark)

    def js(self, expression: str) -> Any:
        answer = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in answer:
            raise RuntimeError(f"{expression}: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def click(self, selector: str) -> None:
        """A real left click in the middle of the element (scrolled into view first)."""
        x, y = self.js(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        self.call("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def type_into(self, selector: str, text: str) -> None:
        self.click(selector)
        self.js(f"document.querySelector({json.dumps(selector)}).select()")
        if text:
            self.call("Input.insertText", text=text)
        else:
            for kind in ("keyDown", "keyUp"):
                self.call(
                    "Input.dispatchKeyEvent",
                    type=kind,
                    key="Backspace",
                    code="Backspace",
                    windowsVirtualKeyCode=8,
                )

    def choose(self, selector: str, value: str) -> None:
        """Pick an option of a <select> as the browser does: set it, fire `change`."""
        self.js(
            f"(() => {{ const s = document.querySelector({json.dumps(selector)});"
            f" s.focus(); s.value = {json.dumps(value)};"
            " s.dispatchEvent(new Event('change', {bubbles: true})); })()"
        )

    def screenshot(self, path: Path) -> None:
        size = self.call("Page.getLayoutMetrics")["cssContentSize"]
        data = self.call(
            "Page.captureScreenshot",
            format="png",
            captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": 1280, "height": size["height"], "scale": 1},
        )["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        # Chromium may close the pipe before it answers: the wait below is what matters.
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.call("Browser.close", timeout=5)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    """One Chromium per module (and per xdist worker) with the sample report open."""
    work = tmp_path_factory.mktemp("html-report")
    report = work / "report.html"
    with report.open("w", encoding="utf-8") as out:
        HtmlWriter().write(sample_report(), out)
    browser = Chromium(work / "profile")
    try:
        browser.open(report.as_uri())
        yield browser
    finally:
        browser.close()


@pytest.fixture
def page(browser: Chromium) -> Chromium:
    """The report as freshly loaded: no test sees another's sorting or filtering."""
    browser.reload()
    return browser


def visible_ids(page: Chromium) -> list[str]:
    ids: list[str] = page.js(
        "Array.from(document.querySelectorAll('#accounts tbody tr'))"
        ".filter(r => !r.hidden && r.offsetParent !== null).map(r => r.cells[0].textContent)"
    )
    return ids


def text(page: Chromium, selector: str) -> str:
    value: str = page.js(f"document.querySelector({json.dumps(selector)}).innerText")
    return value.strip()


def test_script_ran_without_errors_or_blocked_resources(page: Chromium) -> None:
    assert page.js("document.documentElement.dataset.ready") == "true"
    assert page.js("window.__csp") == []
    thrown = [e for e in page.events if e.get("method") == "Runtime.exceptionThrown"]
    assert thrown == []


def test_loads_nothing_from_the_network(page: Chromium) -> None:
    requests = [
        e["params"]["request"]["url"]
        for e in page.events
        if e.get("method") == "Network.requestWillBeSent"
    ]
    assert requests, "the page load itself should be seen"
    assert all(url.startswith(("file:", "data:")) for url in requests), requests


def test_header_shows_organization_time_and_operator(page: Chromium) -> None:
    assert text(page, "#meta-organization") == "o-a1b2c3d4e5"
    assert text(page, "#meta-generated") == "2026-03-01 00:00:00 UTC"
    assert text(page, "#meta-operator") == OPERATOR


def test_summary_counts(page: Chromium) -> None:
    cards = {
        key: text(page, f"#card-{key} .value")
        for key in ("total", "finding", "clean", "error", "skipped")
    }
    assert cards == {"total": "8", "finding": "4", "clean": "2", "error": "1", "skipped": "1"}
    assert text(page, "#verdict") == "4 of 6 audited accounts still have root credentials."


def test_breakdowns_by_kind_and_ou(page: Chromium) -> None:
    kinds = page.js(
        "Object.fromEntries(Array.from(document.querySelectorAll('#kinds tbody tr'))"
        ".map(r => [r.dataset.kind, r.cells[1].textContent]))"
    )
    assert kinds == {
        "password": "3",
        "access-keys": "2",
        "signing-certificates": "1",
        "mfa-devices": "2",
    }
    bar_labels = page.js(
        "Array.from(document.querySelectorAll('#kind-chart g[data-kind] text.value'))"
        ".map(t => t.textContent)"
    )
    assert bar_labels == ["3 of 6", "2 of 6", "1 of 6", "2 of 6"]
    widths = page.js(
        "Array.from(document.querySelectorAll('#kind-chart rect.bar-finding'))"
        ".map(r => r.getBoundingClientRect().width)"
    )
    assert widths[0] == pytest.approx(3 * widths[2], rel=0.02)  # 3 accounts vs 1: drawn to scale
    ous = page.js(
        "Array.from(document.querySelectorAll('#ous tbody tr'))"
        ".map(r => Array.from(r.cells).map(c => c.textContent))"
    )
    assert ous == [
        ["/root/sandbox", "2", "1", "1", "0", "0"],
        ["/root/security", "1", "0", "1", "0", "0"],
        ["/root/workloads/dev", "2", "1", "0", "1", "0"],
        ["/root/workloads/prod", "3", "2", "0", "0", "1"],
    ]
    assert page.js("document.querySelectorAll('#ou-chart g[data-ou]').length") == 4


def test_account_names_are_text_never_markup(page: Chromium) -> None:
    assert page.js("window.__pwned") is None
    assert page.js("document.scripts.length") == 1
    assert page.js("document.querySelectorAll('img').length") == 0
    names = page.js(
        "Array.from(document.querySelectorAll('#accounts tbody tr')).map(r => r.cells[1].textContent)"
    )
    assert EVIL in names


def test_errors_section_lists_unaudited_accounts(page: Chromium) -> None:
    rows = page.js(
        "Array.from(document.querySelectorAll('#problems tbody tr'))"
        ".map(r => [r.cells[0].textContent, r.cells[4].textContent, r.cells[5].textContent])"
    )
    assert rows == [
        ["999999999999", "AccessDenied", "not authorized to perform sts:AssumeRoot"],
        ["777777777777", "Skipped", "account is SUSPENDED"],
    ]


def test_default_order_puts_the_worst_first(page: Chromium) -> None:
    assert visible_ids(page)[0] == "333333333333"  # the only CRITICAL (active access key)


def test_clicking_a_header_sorts_and_clicking_again_reverses(page: Chromium) -> None:
    page.click("#accounts thead th:nth-child(1) button")
    ids = visible_ids(page)
    assert ids == sorted(ids)
    assert page.js("document.querySelector('#accounts thead th:nth-child(1)').ariaSort") == (
        "ascending"
    )
    page.click("#accounts thead th:nth-child(1) button")
    assert visible_ids(page) == sorted(ids, reverse=True)


def test_numeric_columns_sort_by_number(page: Chromium) -> None:
    header = "#accounts thead th:nth-child(7) button"  # Access keys
    page.click(header)
    page.click(header)  # descending
    assert visible_ids(page)[:2] == ["555555555555", "333333333333"]  # 2 keys, then 1


def test_text_filter_hides_rows_and_counts(page: Chromium) -> None:
    page.type_into("#filter-text", "payments")
    assert sorted(visible_ids(page)) == ["333333333333", "444444444444"]
    assert text(page, "#shown-count") == "2 of 8 accounts"
    page.type_into("#filter-text", "no-such-account")
    assert visible_ids(page) == []
    assert page.js("document.getElementById('no-match').hidden") is False
    page.type_into("#filter-text", "")
    assert len(visible_ids(page)) == 8
    assert page.js("document.getElementById('no-match').hidden") is True


def test_status_filter(page: Chromium) -> None:
    page.choose("#filter-status", "error")
    assert visible_ids(page) == ["999999999999"]
    page.choose("#filter-status", "clean")
    assert sorted(visible_ids(page)) == ["222222222222", "666666666666"]
    page.type_into("#filter-text", "experiments")
    assert visible_ids(page) == ["666666666666"]  # both filters apply
    page.type_into("#filter-text", "")
    page.choose("#filter-status", "all")
    assert text(page, "#shown-count") == "8 of 8 accounts"


def test_screenshot(page: Chromium, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    page.screenshot(shot)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
    keep = os.environ.get("ROOTCTL_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / "rootctl-report.png")
