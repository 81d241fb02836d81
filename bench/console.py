"""`python -m bench.console`: time to first paint and page weight of the console with many accounts.

A user with `--accounts` Dreamina accounts (one import through the management API, then a wait until
the refresh worker has checked them all, so each row shows credits and a last check, as a live pool
does), then the overview and the Dreamina list (the default page size and 200 per page) opened in
Chromium, each time in a new browser context: an empty cache, what a first visit costs. The figures
are the browser's own: first-contentful-paint (Paint Timing), time to first byte, DOMContentLoaded
and load (Navigation Timing), and the bytes the page and every resource it loaded took
(Resource Timing `transferSize`). See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench import procstat
from bench.__main__ import BACKGROUND_LIMIT  # the main bench's "the machine was busy" threshold

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_JSON = ROOT / "bench" / "results" / "console.json"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "bench console password"
REGIONS = ("us", "hk", "jp", "sg", "cn")
PAGES = (
    ("overview", "/"),
    ("Dreamina list, default page size", "/dreamina"),
    ("Dreamina list, 200 per page", "/dreamina?per_page=200"),
)
CHECKED_WITHIN_S = 300  # the refresh worker's first check of every new account

# Read once the page has loaded and painted: Resource Timing lists what the page loaded (the
# stylesheet, the scripts, the icon).
_FIGURES = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const fcp = performance.getEntriesByType("paint").find(p => p.name === "first-contentful-paint");
  const resources = performance.getEntriesByType("resource");
  return {
    fcp_ms: fcp.startTime, ttfb_ms: nav.responseStart, dcl_ms: nav.domContentLoadedEventEnd,
    load_ms: nav.loadEventEnd, html_bytes: nav.transferSize, html_body_bytes: nav.decodedBodySize,
    resource_bytes: resources.reduce((sum, r) => sum + r.transferSize, 0), requests: 1 + resources.length,
    dom_nodes: document.getElementsByTagName("*").length,
    rows: document.querySelectorAll("input[type=checkbox][name=ids]").length,
    resources: resources.map(r => new URL(r.name).pathname),
  };
}"""
_PAINTED = """() => performance.getEntriesByType("paint").some(p => p.name === "first-contentful-paint")
  && performance.getEntriesByType("navigation")[0].loadEventEnd > 0"""


@dataclass(frozen=True)
class Load:
    """One visit's figures (times in ms from the start of the navigation, sizes in bytes)."""

    fcp_ms: float
    ttfb_ms: float
    dcl_ms: float
    load_ms: float
    html_bytes: int  # transferred: headers and body
    html_body_bytes: int
    resource_bytes: int  # transferred: scripts, stylesheet
    requests: int
    dom_nodes: int
    rows: int  # account rows on the page
    resources: list[str]  # the paths of what the page loaded

    @property
    def page_bytes(self) -> int:
        return self.html_bytes + self.resource_bytes


_MEDIANS = (*(f for f in Load.__dataclass_fields__ if f != "resources"), "page_bytes")


@dataclass(frozen=True)
class PageResult:
    page: str
    path: str
    loads: list[Load]

    def median(self, name: str) -> float:
        return statistics.median(getattr(load, name) for load in self.loads)

    def to_json(self) -> dict[str, Any]:
        return {
            "page": self.page,
            "path": self.path,
            "median": {name: self.median(name) for name in _MEDIANS},
            "loads": [asdict(load) | {"page_bytes": load.page_bytes} for load in self.loads],
        }


def seed(stack, *, accounts: int, checked_within_s: float = CHECKED_WITHIN_S) -> tuple[str, int]:
    """A new user with `accounts` Dreamina accounts across every region (one import, as a person
    with a file would), once the refresh worker has checked them; returns its name and how many
    were checked (fewer only if the wait ran out)."""
    name = f"bench-console-{uuid.uuid4().hex[:6]}"
    stack.cli("users", "create", name)
    stack.cli("users", "set-password", name, input=PASSWORD + "\n")
    key = stack.cli("keys", "create", "--user", name, "--name", "bench-console")
    lines = [
        f"bench-{n:05d}@example.com:pw-{n}:{REGIONS[n % len(REGIONS)]}:{uuid.uuid4().hex}"
        for n in range(accounts)
    ]
    api = httpx.Client(
        base_url=f"{stack.account_service_url}/api/v1",
        headers={"authorization": f"Bearer {key}"},
        timeout=120,
    )
    with api:
        report = api.post("/accounts/dreamina/import", json={"text": "\n".join(lines)})
        report.raise_for_status()
        if report.json()["imported"] != accounts:
            raise RuntimeError(f"the import stored {report.json()['imported']} of {accounts} accounts")
        return name, _checked(api, accounts, deadline=time.monotonic() + checked_within_s)


def _checked(api: httpx.Client, accounts: int, *, deadline: float) -> int:
    """Wait until every account has its first check (sorted by it, unchecked ones come last: the
    last account has one once all have), then count them."""
    while True:
        last = api.get(
            "/accounts", params={"kind": "dreamina", "sort": "last_check", "per_page": 1, "page": accounts}
        )
        last.raise_for_status()
        if last.json()["items"][0]["last_check"] is not None or time.monotonic() > deadline:
            break
        time.sleep(1)
    checked = 0
    for page in range(1, -(-accounts // 200) + 1):
        items = api.get("/accounts", params={"kind": "dreamina", "per_page": 200, "page": page}).json()[
            "items"
        ]
        checked += sum(item["last_check"] is not None for item in items)
    return checked


def measure(stack, browser, *, username: str, repeat: int) -> list[PageResult]:
    """Each page `repeat` times, each time in a new context (cold cache) with the user's session."""
    signed_in = browser.new_context(base_url=stack.account_service_url)
    try:
        page = signed_in.new_page()
        page.goto("/sign-in")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("button", name="Sign out").wait_for()
        session = signed_in.storage_state()
    finally:
        signed_in.close()
    results = []
    for title, path in PAGES:
        loads = []
        for _ in range(repeat):
            context = browser.new_context(base_url=stack.account_service_url, storage_state=session)
            try:
                page = context.new_page()
                page.goto(path, wait_until="load")
                page.wait_for_function(_PAINTED)
                loads.append(Load(**page.evaluate(_FIGURES)))
            finally:
                context.close()
        results.append(PageResult(title, path, loads))
    return results


def format_table(
    results: list[PageResult], *, accounts: int, background: tuple[float, float, list] | None = None
) -> str:
    """The medians as a table; `background` (bench.procstat.background() before the visits) adds a
    line on how busy the machine was, since the times depend on it (the sizes do not)."""
    header = (
        "page",
        "rows",
        "first paint ms",
        "TTFB ms",
        "load ms",
        "HTML KiB sent",
        "HTML KiB",
        "page KiB sent",
        "requests",
        "DOM nodes",
    )
    rows = [header]
    for r in results:
        fcp = [load.fcp_ms for load in r.loads]
        rows.append(
            (
                f"{r.page} ({r.path})",
                f"{r.median('rows'):.0f}" if r.path != "/" else "-",
                f"{r.median('fcp_ms'):.0f} ({min(fcp):.0f}-{max(fcp):.0f})",
                f"{r.median('ttfb_ms'):.0f}",
                f"{r.median('load_ms'):.0f}",
                f"{r.median('html_bytes') / 1024:.1f}",
                f"{r.median('html_body_bytes') / 1024:.1f}",
                f"{r.median('page_bytes') / 1024:.1f}",
                f"{r.median('requests'):.0f}",
                f"{r.median('dom_nodes'):.0f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    runs = len(results[0].loads) if results else 0
    title = f"Console with {accounts:,} Dreamina accounts: median of {runs} cold loads each"
    title += " (first paint: median, then min-max)"
    notes = []
    if background is not None:
        busy, stolen, busiest = background
        notes.append(f"Machine: {os.cpu_count()} cores; {busy:.2f} busy and {stolen:.2f} stolen just before.")
        if busy > BACKGROUND_LIMIT or stolen > BACKGROUND_LIMIT:
            notes.append(
                "!!! Other processes were busy: the times are pessimistic (the sizes are not). Busiest:"
            )
            notes += [f"!!!   {cores:.2f} cores  pid {pid}  {command}" for cores, pid, command in busiest]
    return "\n".join([title, *notes, "", *lines])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.console", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--accounts", type=int, default=1000, help="Dreamina accounts of the user (default 1000)"
    )
    parser.add_argument("--repeat", type=int, default=5, help="cold loads per page (default 5)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="results file (default %(default)s)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    from services.refresh_worker.dreamina.browser import CHROMIUM_FLAGS
    from tests.support.infra import provision
    from tests.support.stack import running_stack

    args = parse_args(argv)
    log_dir = Path(tempfile.mkdtemp(prefix="poolgate-bench-console-"))
    with provision() as infra, running_stack(infra, log_dir) as stack:
        print(f"bench.console: stack up, service logs in {log_dir}", file=sys.stderr, flush=True)
        started = time.monotonic()
        username, checked = seed(stack, accounts=args.accounts)
        print(
            f"bench.console: {args.accounts} accounts imported, {checked} checked by the refresh worker,"
            f" in {time.monotonic() - started:.0f} s",
            file=sys.stderr,
            flush=True,
        )
        background = procstat.background()
        # Playwright's sync API holds an event loop on this thread: it ends before the stack's teardown.
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_FLAGS))
            try:
                results = measure(stack, browser, username=username, repeat=args.repeat)
            finally:
                browser.close()
    print(format_table(results, accounts=args.accounts, background=background))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    busy, stolen, busiest = background
    document = {
        "accounts": args.accounts,
        "checked": checked,
        "cores": os.cpu_count(),
        "background_cores_busy": round(busy, 2),
        "background_cores_stolen": round(stolen, 2),
        "background_busiest": [{"cores": round(c, 2), "pid": p, "command": cmd} for c, p, cmd in busiest],
        "pages": [r.to_json() for r in results],
    }
    args.json.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    print(f"\nJSON: {args.json}")
    return 0 if checked == args.accounts else 1


if __name__ == "__main__":
    sys.exit(main())
