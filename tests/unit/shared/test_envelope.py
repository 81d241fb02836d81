import re

import pytest

from shared.logging import set_correlation_id
from shared.messages import Envelope, MalformedMessage
from shared.messages.contracts import EVENT_TYPES, AccountCreated


def test_wrap_carries_type_version_and_correlation_id():
    set_correlation_id("cid-123")
    envelope = Envelope.wrap(AccountCreated(account_id="a", kind="custom_api", owner_id="u"), producer="t")
    assert (envelope.type, envelope.version, envelope.correlation_id) == ("account.created", 1, "cid-123")
    again = Envelope.from_bytes(envelope.to_bytes())
    assert again == envelope
    assert again.event() == AccountCreated(account_id="a", kind="custom_api", owner_id="u")
    set_correlation_id(None)


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"type": "account.created"}'])
def test_garbage_is_malformed(body):
    with pytest.raises(MalformedMessage):
        Envelope.from_bytes(body)


def test_unknown_type_and_bad_payload_are_malformed():
    with pytest.raises(MalformedMessage):
        Envelope(type="nope.happened", producer="t", data={}).event()
    with pytest.raises(MalformedMessage):
        Envelope(type="account.created", producer="t", data={"account_id": 1}).event()


def test_routing_keys_are_noun_dot_verb():
    for name, cls in EVENT_TYPES.items():
        assert re.fullmatch(r"[a-z_]+\.[a-z_]+", name), name
        assert cls.TYPE == name
