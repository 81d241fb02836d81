"""bench/console.py against the test stack with a small pool: it seeds the accounts, opens each page
in Chromium and reports the browser's own figures for every page."""

from __future__ import annotations

from bench import console as bench


def test_the_console_bench_reports_first_paint_and_weight_of_each_page(stack, browser):
    username, checked = bench.seed(stack, accounts=20)
    assert checked == 20  # each account got its first check from the refresh worker
    results = bench.measure(stack, browser, username=username, repeat=2)
    assert [r.path for r in results] == ["/", "/dreamina", "/dreamina?per_page=200"]
    for result in results:
        assert len(result.loads) == 2
        for load in result.loads:
            assert 0 < load.ttfb_ms <= load.fcp_ms  # nothing to paint before the HTML came
            assert load.html_body_bytes > 1000
            assert 0 < load.html_bytes < load.html_body_bytes  # sent gzip-compressed
            assert load.resource_bytes > 15_000  # htmx (compressed), console.js, the stylesheet: not cached
            assert load.requests >= 4  # the page, the stylesheet, htmx and console.js
            assert load.rows == (0 if result.path == "/" else 20)
    overview, list_50, _ = results
    assert list_50.median("html_body_bytes") > overview.median("html_body_bytes")
    table = bench.format_table(results, accounts=20)
    assert "Console with 20 Dreamina accounts: median of 2 cold loads" in table
    for result in results:
        line = next(line for line in table.splitlines() if line.startswith(f"{result.page} ({result.path})"))
        assert (
            f"{result.median('fcp_ms'):.0f}" in line and f"{result.median('page_bytes') / 1024:.1f}" in line
        )
