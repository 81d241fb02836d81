"""Message contracts, envelope, topology and the broker wrapper.

`Broker` and `AckPolicy` are imported lazily: they pull in aio-pika and redis, which the CLI's
database commands (which only write outbox rows) should not pay for at start-up.
"""

from shared.messages.contracts import EVENT_TYPES, Event
from shared.messages.envelope import Envelope, MalformedMessage

__all__ = ["EVENT_TYPES", "AckPolicy", "Broker", "Delivery", "Envelope", "Event", "MalformedMessage"]


def __getattr__(name: str):
    if name in ("AckPolicy", "Broker", "Delivery"):
        from shared.messages import broker

        return getattr(broker, name)
    raise AttributeError(name)
