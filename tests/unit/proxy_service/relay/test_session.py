from __future__ import annotations

from services.proxy_service.formats import CLAUDE, OPENAI
from services.proxy_service.relay.session import session_of

CLAUDE_CODE_USER = "user_3f2a_account__session_6b1c0d2e-1111-2222-3333-444455556666"
SYSTEM = [{"type": "text", "text": "You are Claude Code."}]


def _claude(messages, **extra) -> dict:
    return {"model": "claude-sonnet-4-6", "max_tokens": 64, "system": SYSTEM, "messages": messages, **extra}


def _openai(messages, **extra) -> dict:
    return {"model": "gpt-4o", "messages": messages, **extra}


FIRST = [{"role": "user", "content": "Fix the bug"}]
SECOND = [*FIRST, {"role": "assistant", "content": "Done."}, {"role": "user", "content": "Thanks"}]


def test_claude_codes_metadata_user_id_keys_the_session_and_is_looked_up_on_every_turn() -> None:
    metadata = {"user_id": CLAUDE_CODE_USER}
    first = session_of(_claude(FIRST, metadata=metadata), CLAUDE)
    assert first is not None and first.lookup
    assert session_of(_claude(SECOND, metadata=metadata), CLAUDE) == first
    other = session_of(_claude(FIRST, metadata={"user_id": CLAUDE_CODE_USER + "x"}), CLAUDE)
    assert other is not None and other.key != first.key


def test_the_affinity_header_comes_before_prompt_cache_key_and_the_text() -> None:
    by_header = session_of(_openai(FIRST, prompt_cache_key="pck"), OPENAI, "conv-1")
    assert by_header is not None and by_header.lookup
    assert by_header == session_of(_claude(SECOND), CLAUDE, "conv-1")  # the same header, either format
    assert by_header != session_of(_openai(FIRST, prompt_cache_key="conv-1"), OPENAI)  # sources differ


def test_metadata_user_id_comes_before_the_header() -> None:
    with_id = session_of(_claude(FIRST, metadata={"user_id": "u1"}), CLAUDE, "conv-1")
    assert with_id == session_of(_claude(FIRST, metadata={"user_id": "u1"}), CLAUDE, "conv-2")


def test_openais_prompt_cache_key_keys_the_session() -> None:
    first = session_of(_openai(FIRST, prompt_cache_key="repo-42"), OPENAI)
    assert first is not None and first.lookup
    assert session_of(_openai(SECOND, prompt_cache_key="repo-42"), OPENAI) == first


def test_without_a_key_the_text_is_recorded_on_a_first_turn_and_looked_up_with_history() -> None:
    first = session_of(_claude(FIRST), CLAUDE)
    follow_up = session_of(_claude(SECOND), CLAUDE)
    assert first is not None and follow_up is not None
    assert not first.lookup and follow_up.lookup
    assert first.key == follow_up.key  # the follow-up finds the binding its first turn recorded


def test_openai_system_messages_are_part_of_the_text_key() -> None:
    system = {"role": "system", "content": "Be brief."}
    plain = session_of(_openai(SECOND), OPENAI)
    with_system = session_of(_openai([system, *SECOND]), OPENAI)
    assert plain is not None and with_system is not None and plain.key != with_system.key
    assert with_system.lookup
    assert session_of(_openai([system, *FIRST]), OPENAI).lookup is False


def test_a_different_system_prompt_or_first_message_is_another_session() -> None:
    base = session_of(_claude(SECOND), CLAUDE)
    other_system = session_of({**_claude(SECOND), "system": "Another"}, CLAUDE)
    other_first = session_of(_claude([{"role": "user", "content": "Other"}, *SECOND[1:]]), CLAUDE)
    assert len({base.key, other_system.key, other_first.key}) == 3


def test_blank_explicit_keys_are_ignored_and_nothing_to_key_on_is_no_session() -> None:
    blank = session_of(_claude(SECOND, metadata={"user_id": " "}), CLAUDE, "")
    assert blank == session_of(_claude(SECOND), CLAUDE)
    assert session_of(_claude([{"role": "assistant", "content": "hi"}]), CLAUDE) is None
    assert session_of({"model": "m", "messages": "not a list"}, OPENAI) is None
    assert session_of(_openai(FIRST, metadata={"user_id": "u"}), OPENAI).lookup is False  # Anthropic's only
