"""The fragments the admin pages fetch again while something is running: a running job's asks to be
fetched every 2 seconds, a finished one's does not (so the page stops asking); the jobs list polls
only while one of its jobs runs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from services.account_service.console import i18n
from services.account_service.console.web import env
from services.account_service.jobs.schemas import Job

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def _job(status: str) -> Job:
    return Job(
        id=uuid.uuid4(),
        action="refresh_all",
        user_id=uuid.uuid4(),
        requested_by="admin",
        params={"scope": "all", "kind": "dreamina"},
        status=status,
        total=300,
        queued=120 if status == "running" else 290,
        skipped=0 if status == "running" else 10,
        created_at=NOW,
        updated_at=NOW,
        finished_at=None if status == "running" else NOW,
    )


def _render(template: str, **context) -> str:
    i18n.use("en")
    return env.get_template(template).render(csrf_token="", **context)


@pytest.mark.parametrize(("status", "polls"), [("running", True), ("finished", False)])
def test_a_job_page_fetches_its_progress_again_only_while_the_job_runs(status, polls):
    job = _job(status)
    html = _render("_job_progress.html", job=job, items=[], page=2, per_page=100)
    assert (f'hx-get="/jobs/{job.id}/progress?page=2"' in html) is polls
    assert ('hx-trigger="every 2s"' in html) is polls
    assert f"{job.queued + job.skipped} of 300 accounts" in html


@pytest.mark.parametrize(("statuses", "polls"), [(["finished", "running"], True), (["finished"], False)])
def test_the_job_list_fetches_itself_again_while_one_of_its_jobs_runs(statuses, polls):
    jobs = [_job(status) for status in statuses]
    html = _render("_jobs_table.html", jobs=jobs, total=len(jobs), page=1, per_page=50)
    assert ('hx-trigger="every 2s"' in html) is polls
