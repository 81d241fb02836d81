"""Fake OpenAI and Anthropic upstreams speaking the real wire protocols (tests and benchmarks)."""
