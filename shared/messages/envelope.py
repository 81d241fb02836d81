"""The envelope every message travels in:
`{id, type, version, occurred_at, correlation_id, producer, data}`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from shared.logging import get_correlation_id
from shared.messages.contracts import EVENT_TYPES, Event


class MalformedMessage(ValueError):
    """A message that can never be processed; it goes to the dead-letter queue, not back to retry."""


def _now() -> datetime:
    return datetime.now(UTC)


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    type: str
    version: int = 1
    occurred_at: datetime = Field(default_factory=_now)
    correlation_id: str | None = None
    producer: str
    data: dict[str, Any]

    @classmethod
    def wrap(cls, event: Event, *, producer: str, correlation_id: str | None = None) -> Envelope:
        return cls(
            type=event.TYPE,
            version=event.VERSION,
            correlation_id=correlation_id or get_correlation_id(),
            producer=producer,
            data=event.model_dump(mode="json"),
        )

    def event(self) -> Event:
        cls = EVENT_TYPES.get(self.type)
        if cls is None:
            raise MalformedMessage(f"unknown message type {self.type!r}")
        try:
            return cls.model_validate(self.data)
        except ValueError as exc:
            raise MalformedMessage(f"invalid {self.type} payload: {exc}") from exc

    def to_bytes(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json"))

    @classmethod
    def many_from_bytes(cls, body: bytes, *, batch: bool) -> list[Envelope]:
        """The envelopes in one AMQP message body: one, or a batch (a JSON array of envelopes)."""
        if not batch:
            return [cls.from_bytes(body)]
        try:
            items = orjson.loads(body)
            if not isinstance(items, list):
                raise MalformedMessage("a batch must be a JSON array")
            return [cls.model_validate(item) for item in items]
        except (orjson.JSONDecodeError, ValueError) as exc:
            raise MalformedMessage(f"not a batch of envelopes: {exc}") from exc

    @classmethod
    def from_bytes(cls, body: bytes) -> Envelope:
        try:
            return cls.model_validate(orjson.loads(body))
        except (orjson.JSONDecodeError, ValueError) as exc:
            raise MalformedMessage(f"not an envelope: {exc}") from exc
