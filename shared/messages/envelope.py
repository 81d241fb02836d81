"""The envelope every message travels in:
`{id, type, version, occurred_at, correlation_id, producer, data}`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

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
        # model_construct: the event is already validated, and the envelope's own fields are ours;
        # validating them again was most of a usage batch's cost in the proxy (bench/).
        return cls.model_construct(
            id=uuid.uuid4().hex,
            occurred_at=_now(),
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
            return _BATCH.validate_json(body)
        except ValueError as exc:
            raise MalformedMessage(f"not a batch of envelopes: {exc}") from exc

    @staticmethod
    def batch_bytes(envelopes: list[Envelope]) -> bytes:
        """A batch message's body: a JSON array of envelopes (one serializer pass, in Rust)."""
        return _BATCH.dump_json(envelopes)

    @classmethod
    def from_bytes(cls, body: bytes) -> Envelope:
        try:
            return cls.model_validate(orjson.loads(body))
        except (orjson.JSONDecodeError, ValueError) as exc:
            raise MalformedMessage(f"not an envelope: {exc}") from exc


_BATCH = TypeAdapter(list[Envelope])
