"""In-process fake upstreams on free ports, plus the official SDKs pointed at them."""

from __future__ import annotations

import anthropic
import openai
import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.fakes import anthropic_upstream, openai_upstream


@pytest.fixture
async def openai_fake():
    async with TestClient(TestServer(openai_upstream.create_app())) as client:
        yield client


@pytest.fixture
async def anthropic_fake():
    async with TestClient(TestServer(anthropic_upstream.create_app())) as client:
        yield client


@pytest.fixture
async def oai(openai_fake):
    base_url = str(openai_fake.make_url("/v1"))
    async with openai.AsyncOpenAI(base_url=base_url, api_key="sk-test-1", max_retries=0) as client:
        yield client


@pytest.fixture
async def claude(anthropic_fake):
    base_url = str(anthropic_fake.make_url("")).rstrip("/")
    async with anthropic.AsyncAnthropic(base_url=base_url, api_key="sk-ant-test-1", max_retries=0) as client:
        yield client
