"""Which messages on the worker's queue reach the Kiro refresher."""

from __future__ import annotations

from services.refresh_worker.consumers import (
    ACCOUNTS_BINDINGS,
    DREAMINA_BINDINGS,
    PROBE_BINDINGS,
    AccountConsumer,
    DreaminaConsumer,
    ProbeConsumer,
)
from shared.messages import Envelope
from shared.messages.contracts import (
    AccountCreated,
    AccountCredentialRejected,
    AccountProbeRequested,
    AccountRefreshDue,
    AccountRefreshRequested,
    AccountUpdated,
)

ID = "6f1c1a6e-0000-4000-8000-000000000001"


class _Refresher:
    def __init__(self) -> None:
        self.handled: list[str] = []
        self.given_up: list[tuple[str, str]] = []

    async def handle(self, event, *, occurred_at) -> None:
        self.handled.append(event.TYPE)

    async def give_up(self, event, error) -> None:
        self.given_up.append((event.TYPE, str(error)))


def _wrap(event) -> Envelope:
    return Envelope.wrap(event, producer="test")


def test_the_queue_is_bound_to_every_refresh_trigger():
    assert set(ACCOUNTS_BINDINGS) == {
        "account.created",
        "account.updated",
        "account.refresh_due",
        "account.refresh_requested",
        "account.credential_rejected",
    }


async def test_kiro_triggers_reach_the_refresher():
    refresher = _Refresher()
    consumer = AccountConsumer(refresher)
    for event in (
        AccountCreated(account_id=ID, kind="kiro", owner_id="u"),
        AccountUpdated(account_id=ID, kind="kiro", fields=["refresh_token"]),
        AccountRefreshDue(account_id=ID, kind="kiro"),
        AccountRefreshRequested(account_id=ID, kind="kiro"),
        AccountCredentialRejected(account_id=ID, kind="kiro", status_code=403),
    ):
        await consumer.on_event(_wrap(event))
    assert len(refresher.handled) == 5


async def test_other_kinds_and_the_workers_own_writes_are_acknowledged_and_ignored():
    refresher = _Refresher()
    consumer = AccountConsumer(refresher)
    for event in (
        AccountCreated(account_id=ID, kind="dreamina", owner_id="u"),
        AccountCreated(account_id=ID, kind="custom_api", owner_id="u"),
        AccountRefreshDue(account_id=ID, kind="dreamina"),
        AccountUpdated(account_id=ID, kind="kiro", fields=["access_token", "refresh_token"]),
        AccountUpdated(account_id=ID, kind="kiro", fields=["name"]),
    ):
        await consumer.on_event(_wrap(event))
    assert refresher.handled == []


async def test_a_dead_lettered_kiro_trigger_is_announced_as_given_up():
    refresher = _Refresher()
    consumer = AccountConsumer(refresher)
    await consumer.on_dead_letter(
        _wrap(AccountRefreshRequested(account_id=ID, kind="kiro")), RuntimeError("x")
    )
    await consumer.on_dead_letter(
        _wrap(AccountRefreshRequested(account_id=ID, kind="dreamina")), RuntimeError("y")
    )
    assert refresher.given_up == [("account.refresh_requested", "x")]


async def test_dreamina_triggers_reach_the_revalidator_on_their_own_queue():
    revalidator = _Refresher()
    consumer = DreaminaConsumer(revalidator)
    for event in (
        AccountCreated(account_id=ID, kind="dreamina", owner_id="u"),
        AccountRefreshDue(account_id=ID, kind="dreamina"),
        AccountRefreshRequested(account_id=ID, kind="dreamina"),
        AccountCredentialRejected(account_id=ID, kind="dreamina", status_code=200),
        # Not for it: other kinds, and edits (the worker's own sessionid writes among them).
        AccountCreated(account_id=ID, kind="kiro", owner_id="u"),
        AccountRefreshDue(account_id=ID, kind="kiro"),
        AccountUpdated(account_id=ID, kind="dreamina", fields=["sessionid", "credential_expires_at"]),
    ):
        await consumer.on_event(_wrap(event))
    assert revalidator.handled == [
        "account.created",
        "account.refresh_due",
        "account.refresh_requested",
        "account.credential_rejected",
    ]
    assert set(DREAMINA_BINDINGS) == set(revalidator.handled)


async def test_a_dead_lettered_dreamina_trigger_is_given_up_by_the_revalidator():
    revalidator = _Refresher()
    consumer = DreaminaConsumer(revalidator)
    await consumer.on_dead_letter(_wrap(AccountRefreshDue(account_id=ID, kind="dreamina")), RuntimeError("x"))
    await consumer.on_dead_letter(_wrap(AccountRefreshDue(account_id=ID, kind="kiro")), RuntimeError("y"))
    assert revalidator.given_up == [("account.refresh_due", "x")]


class _Prober:
    def __init__(self) -> None:
        self.probed: list[tuple[str, str]] = []

    async def handle(self, event) -> None:
        self.probed.append((event.account_id, event.kind))


async def test_probe_requests_of_every_kind_reach_the_prober_and_nothing_else_does():
    prober = _Prober()
    consumer = ProbeConsumer(prober)  # type: ignore[arg-type]
    assert PROBE_BINDINGS == ["account.probe_requested"]
    assert not set(PROBE_BINDINGS) & (set(ACCOUNTS_BINDINGS) | set(DREAMINA_BINDINGS))

    for kind in ("kiro", "custom_api", "dreamina"):
        await consumer.on_event(_wrap(AccountProbeRequested(account_id=ID, kind=kind)))
    await consumer.on_event(_wrap(AccountRefreshRequested(account_id=ID, kind="kiro")))

    assert prober.probed == [(ID, "kiro"), (ID, "custom_api"), (ID, "dreamina")]
