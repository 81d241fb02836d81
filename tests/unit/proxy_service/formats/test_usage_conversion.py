from __future__ import annotations

from services.proxy_service.formats.usage_conversion import claude_usage, openai_usage


def test_cached_prompt_tokens_are_reported_apart_for_claude_clients() -> None:
    usage = {
        "prompt_tokens": 100,
        "completion_tokens": 7,
        "prompt_tokens_details": {"cached_tokens": 80, "cache_creation_tokens": 5},
    }
    assert claude_usage(usage) == {
        "input_tokens": 15,
        "output_tokens": 7,
        "cache_creation_input_tokens": 5,
        "cache_read_input_tokens": 80,
    }


def test_deepseek_cache_hits_count_as_cache_reads() -> None:
    usage = {"prompt_tokens": 50, "completion_tokens": 1, "prompt_cache_hit_tokens": 30}
    assert claude_usage(usage)["input_tokens"] == 20
    assert claude_usage(usage)["cache_read_input_tokens"] == 30


def test_missing_or_odd_usage_counts_as_zero() -> None:
    zero = {
        "input_tokens": 0,
        "output_tokens": 0,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }
    assert claude_usage(None) == zero
    assert claude_usage({"prompt_tokens": "12", "completion_tokens": True}) == zero
    assert (
        claude_usage({"prompt_tokens": 5, "prompt_tokens_details": {"cached_tokens": 9}})["input_tokens"] == 0
    )


def test_openai_prompt_tokens_include_every_cached_token() -> None:
    usage = {
        "input_tokens": 10,
        "output_tokens": 3,
        "cache_read_input_tokens": 20,
        "cache_creation_input_tokens": 4,
    }
    assert openai_usage(usage) == {
        "prompt_tokens": 34,
        "completion_tokens": 3,
        "total_tokens": 37,
        "prompt_tokens_details": {"cached_tokens": 20, "cache_creation_tokens": 4},
    }


def test_the_round_trip_keeps_every_counter() -> None:
    usage = {
        "input_tokens": 10,
        "output_tokens": 3,
        "cache_read_input_tokens": 20,
        "cache_creation_input_tokens": 4,
    }
    assert claude_usage(openai_usage(usage)) == usage
