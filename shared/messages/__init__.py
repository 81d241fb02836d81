"""Message contracts, envelope, topology and the broker wrapper."""

from shared.messages.broker import AckPolicy, Broker
from shared.messages.contracts import *  # noqa: F403
from shared.messages.contracts import EVENT_TYPES, Event
from shared.messages.envelope import Envelope, MalformedMessage

__all__ = ["EVENT_TYPES", "AckPolicy", "Broker", "Envelope", "Event", "MalformedMessage"]
