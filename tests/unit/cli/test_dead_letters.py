"""`poolgate events dead`: naming a queue, and what a replayed copy keeps."""

from __future__ import annotations

from types import SimpleNamespace

from services.cli._dead_letters import consumer_queue, replay_copy


def test_a_queue_is_named_as_listed_or_in_full():
    for given in ("refresh_worker.accounts", "pg.refresh_worker.accounts", "pg.refresh_worker.accounts.dead"):
        assert consumer_queue(given, "pg").name == "pg.refresh_worker.accounts"


def test_a_replayed_copy_keeps_the_message_and_drops_its_death():
    dead = SimpleNamespace(
        body=b"{}",
        headers={
            "x-death": [{"queue": "pg.q", "reason": "rejected", "count": 1}],
            "x-first-death-reason": "rejected",
            "x-poolgate-attempt": 5,
            "x-poolgate-error": "RuntimeError('x')",
            "x-poolgate-dead-lettered-at": "2026-01-01T00:00:00+00:00",
            "x-custom": "kept",
        },
        content_type="application/json",
        content_encoding=None,
        priority=None,
        correlation_id="corr-1",
        reply_to=None,
        message_id="m-1",
        timestamp=None,
        type="account.created",
        app_id=None,
    )
    copy = replay_copy(dead)
    assert copy.message_id == "m-1" and copy.type == "account.created" and copy.correlation_id == "corr-1"
    assert copy.headers == {"x-custom": "kept"}, "a full set of attempts again, and no stale death"
    assert copy.body == b"{}" and copy.content_type == "application/json"
