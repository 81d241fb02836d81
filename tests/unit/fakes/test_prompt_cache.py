"""The fakes' prompt cache (tests/fakes/_prompt_cache.py): a conversation's next turn on the same
account reads its prefix from the cache; on another account, or as a one-shot call, it does not."""

from __future__ import annotations

import anthropic

from tests.fakes._prompt_cache import PromptCache

SYSTEM = "You are a careful assistant. " * 20
FIRST = [{"role": "user", "content": "Tell me about Paris, please, at some length."}]


def _second(answer: str) -> list[dict]:
    return [*FIRST, {"role": "assistant", "content": answer}, {"role": "user", "content": "And Lyon?"}]


def test_the_cache_is_per_account_and_never_covers_the_last_message() -> None:
    cache = PromptCache()
    assert cache.use("a", SYSTEM, FIRST).read == 0
    assert cache.use("a", SYSTEM, FIRST).read == 0  # a one-shot call repeated: nothing before its message
    follow_up = _second("Paris is big.")
    on_b = cache.use("b", SYSTEM, follow_up)
    assert on_b.read == 0 and on_b.written > 0
    on_a = cache.use("a", SYSTEM, follow_up)
    assert 0 < on_a.read < on_a.total
    assert cache.use("a", "Another system prompt", follow_up).read == 0


async def test_anthropic_reports_cache_reads_for_a_follow_up_on_the_same_key(claude) -> None:
    first = await claude.messages.create(model="m", max_tokens=64, system=SYSTEM, messages=FIRST)
    assert first.usage.cache_read_input_tokens == 0
    second = await claude.messages.create(
        model="m", max_tokens=64, system=SYSTEM, messages=_second(first.content[0].text)
    )
    usage = second.usage
    assert usage.cache_read_input_tokens > 0
    assert usage.input_tokens >= 1 and usage.input_tokens < usage.cache_read_input_tokens


async def test_openai_reports_cached_prompt_tokens_for_a_follow_up_on_the_same_key(oai) -> None:
    messages = [{"role": "system", "content": SYSTEM}, *FIRST]
    first = await oai.chat.completions.create(model="gpt-4o", messages=messages)
    assert first.usage.prompt_tokens_details.cached_tokens == 0
    follow_up = [
        *messages,
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": "And Lyon?"},
    ]
    second = await oai.chat.completions.create(model="gpt-4o", messages=follow_up)
    cached = second.usage.prompt_tokens_details.cached_tokens
    assert 0 < cached < second.usage.prompt_tokens


async def test_another_key_has_a_cold_cache(anthropic_fake, claude) -> None:
    first = await claude.messages.create(model="m", max_tokens=64, system=SYSTEM, messages=FIRST)
    other = anthropic.AsyncAnthropic(base_url=str(claude.base_url), api_key="sk-ant-other", max_retries=0)
    second = await other.messages.create(
        model="m", max_tokens=64, system=SYSTEM, messages=_second(first.content[0].text)
    )
    assert second.usage.cache_read_input_tokens == 0
