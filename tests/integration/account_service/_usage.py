"""Support for the usage tests: calls as the proxy reports them, fed to the service's own usage
consumer as AMQP deliveries (or published through the real broker)."""

from __future__ import annotations

import uuid
from datetime import datetime

from services.account_service.usage.consumer import UsageConsumer
from shared.messages import Broker, Envelope
from shared.messages.broker import Delivery
from shared.messages.contracts import UsageRecorded
from tests.integration.account_service._api import Api

_PRODUCER = Broker(amqp_url="", exchange="", queue_prefix="", producer="test-proxy")


def call(
    *, key_id: str, user_id: str, account_id: str, model: str, at: datetime, outcome: str = "success", **kw
) -> Envelope:
    """One call as the proxy reports it, happened at `at`."""
    usage = UsageRecorded(
        lease_id=uuid.uuid4().hex,
        account_id=account_id,
        api_key_id=key_id,
        user_id=user_id,
        model=model,
        outcome=outcome,
        **{"latency_ms": 100.0} | kw,
    )
    return _PRODUCER.envelope(usage).model_copy(update={"occurred_at": at})


def consume(api: Api, envelopes: list[Envelope], *, message_id: str | None = None) -> str:
    """The envelopes as one AMQP message handled by the service's usage consumer; returns its id."""
    state = api.client.app.state
    consumer = UsageConsumer(pool=state.pool, picker=state.picker, health=state.health, days=state.days)
    delivery = Delivery(message_id=message_id or uuid.uuid4().hex, envelopes=envelopes)
    api.client.portal.call(consumer.handle, [delivery])
    return delivery.message_id


def key_id(api: Api, key: str) -> str:
    return api.call("GET", "/keys", key).json()[0]["id"]
