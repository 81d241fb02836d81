"""`poolgate usage`: the hourly rollups' totals per key, account, model or user as a table, read as
an admin reads them through `/api/v1/usage` (the same service function)."""

from __future__ import annotations

import argparse
from uuid import UUID

from services.account_service import db
from services.account_service.settings import get_settings
from services.account_service.usage import service
from services.account_service.usage.schemas import UsageReport, UsageTotals
from services.account_service.users.schemas import Actor

# The operator at the shell: sees every user's usage, as an admin does.
_OPERATOR = Actor(user_id=UUID(int=0), username="", is_admin=True)

_COLUMNS = (
    "REQUESTS",
    "OK",
    "FAILED",
    "IN TOKENS",
    "OUT TOKENS",
    "IMAGES",
    "VIDEO S",
    "P50 MS",
    "P95 MS",
    "TTFB P50",
    "TTFB P95",
)


async def run(args: argparse.Namespace) -> int:
    settings = get_settings()
    days = settings.day_boundary()
    conn = await db.connect(settings.database_url)
    try:
        now = days.now()
        async with conn.transaction(readonly=True):
            report = await service.report(
                conn,
                actor=_OPERATOR,
                by=args.by,
                since=service.parse_since(args.since, now=now),
                now=now,
                limit=max(1, args.limit),
                user=args.user,
            )
    finally:
        await conn.close()
    print(format_table(report))
    return 0


def _cells(totals: UsageTotals) -> list[str]:
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:g}"

    return [
        str(totals.requests),
        str(totals.successes),
        str(totals.failures),
        str(totals.input_tokens),
        str(totals.output_tokens),
        str(totals.images),
        f"{totals.video_seconds:g}",
        ms(totals.latency_ms.p50),
        ms(totals.latency_ms.p95),
        ms(totals.ttfb_ms.p50),
        ms(totals.ttfb_ms.p95),
    ]


def format_table(report: UsageReport) -> str:
    """One row per group (name, else id), most requests first, and a TOTAL row."""
    rows = [[report.by.upper(), *_COLUMNS]]
    rows += [[g.name or g.id, *_cells(g)] for g in report.groups]
    if report.more:
        rows.append([f"({report.more} more)", *[""] * len(_COLUMNS)])
    rows.append(["TOTAL", *_cells(report.total)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join([row[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True))])
        for row in rows
    ]
    since = report.since.strftime("%Y-%m-%d %H:%M")
    until = report.until.strftime("%Y-%m-%d %H:%M")
    return f"# usage by {report.by}, {since} to {until} UTC\n" + "\n".join(lines)
