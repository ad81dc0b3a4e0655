"""The OpenAI stand-in, exercised through the real openai client (AsyncOpenAI, and OpenAI once)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest
from pydantic import BaseModel

from tests.fakes.openai_api import ChatCall, OpenAIApi, strict_schema_problems

MODEL = "gpt-4o-mini"
MESSAGES: list[Any] = [
    {"role": "system", "content": "Classify the support email. Answer in JSON."},
    {"role": "user", "content": "My card payment failed twice"},
]
SCHEMA = {
    "type": "object",
    "properties": {
        "category": {"type": "string", "enum": ["billing", "technical", "other"]},
        "confidence": {"type": "number"},
    },
    "required": ["category", "confidence"],
    "additionalProperties": False,
}
JSON_SCHEMA_FORMAT: Any = {
    "type": "json_schema",
    "json_schema": {"name": "classification", "strict": True, "schema": SCHEMA},
}


@pytest.fixture
async def client(openai_api: OpenAIApi) -> AsyncIterator[openai.AsyncOpenAI]:
    client = openai.AsyncOpenAI(api_key=openai_api.api_key, base_url=openai_api.url + "/v1", max_retries=0)
    yield client
    await client.close()


async def test_structured_output_arrives_as_json_content(openai_api: OpenAIApi, client: openai.AsyncOpenAI) -> None:
    openai_api.answer_with({"category": "billing", "confidence": 0.93})
    completion = await client.chat.completions.create(
        model=MODEL, messages=MESSAGES, response_format=JSON_SCHEMA_FORMAT
    )
    choice = completion.choices[0]
    assert json.loads(choice.message.content or "") == {"category": "billing", "confidence": 0.93}
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    assert completion.model == MODEL and completion.object == "chat.completion"
    assert completion.usage is not None and completion.usage.total_tokens > 0
    [call] = openai_api.chat_calls
    assert call == ChatCall(MODEL, MESSAGES, JSON_SCHEMA_FORMAT, call.body)
    request = openai_api.calls("chat/completions")[0]
    assert request.header("Authorization") == f"Bearer {openai_api.api_key}"
    assert request.path == "/v1/chat/completions" and request.content_type == "application/json"


async def test_parse_with_a_pydantic_model(openai_api: OpenAIApi, client: openai.AsyncOpenAI) -> None:
    class Classification(BaseModel):
        category: str
        confidence: float

    openai_api.answer_with({"category": "technical", "confidence": 0.5})
    completion = await client.chat.completions.parse(model=MODEL, messages=MESSAGES, response_format=Classification)
    assert completion.choices[0].message.parsed == Classification(category="technical", confidence=0.5)
    sent = openai_api.chat_calls[0].response_format
    assert sent is not None and sent["type"] == "json_schema" and sent["json_schema"]["strict"] is True


async def test_answers_are_used_in_order_then_the_default(openai_api: OpenAIApi, client: openai.AsyncOpenAI) -> None:
    openai_api.answer_with("first")
    openai_api.answer_with(lambda call: f"you said: {call.messages[-1]['content']}")
    openai_api.default_answer = {"category": "other", "confidence": 0.1}
    contents = []
    for _ in range(4):
        completion = await client.chat.completions.create(model=MODEL, messages=MESSAGES)
        contents.append(completion.choices[0].message.content)
    assert contents == [
        "first",
        "you said: My card payment failed twice",
        '{"category": "other", "confidence": 0.1}',
        '{"category": "other", "confidence": 0.1}',
    ]
    assert openai_api.pending_answers == 0


async def test_answer_invalid_is_not_the_json_asked_for(openai_api: OpenAIApi, client: openai.AsyncOpenAI) -> None:
    openai_api.answer_invalid()
    completion = await client.chat.completions.create(
        model=MODEL, messages=MESSAGES, response_format=JSON_SCHEMA_FORMAT
    )
    with pytest.raises(json.JSONDecodeError):
        json.loads(completion.choices[0].message.content or "")


async def test_refusals_and_cut_off_answers(openai_api: OpenAIApi, client: openai.AsyncOpenAI) -> None:
    class Classification(BaseModel):
        category: str

    openai_api.answer_refusal("I can't classify that.")
    refused = await client.chat.completions.create(model=MODEL, messages=MESSAGES, response_format=JSON_SCHEMA_FORMAT)
    assert refused.choices[0].message.content is None
    assert refused.choices[0].message.refusal == "I can't classify that."
    openai_api.answer_with('{"category": "bil', finish_reason="length")
    with pytest.raises(openai.LengthFinishReasonError):
        await client.chat.completions.parse(model=MODEL, messages=MESSAGES, response_format=Classification)


async def test_a_slow_answer_raises_api_timeout_error(openai_api: OpenAIApi, client: openai.AsyncOpenAI) -> None:
    openai_api.slow_next(3.0)
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        await client.with_options(timeout=0.3).chat.completions.create(model=MODEL, messages=MESSAGES)
    assert time.monotonic() - started < 2.0
    assert len(openai_api.requests) == 1  # max_retries=0: no second try


async def test_with_retries_a_timeout_is_tried_again(openai_api: OpenAIApi) -> None:
    openai_api.answer_with("second try")
    client = openai.AsyncOpenAI(api_key=openai_api.api_key, base_url=openai_api.base_url, max_retries=1)
    openai_api.slow_next(3.0)
    completion = await client.with_options(timeout=0.3).chat.completions.create(model=MODEL, messages=MESSAGES)
    assert completion.choices[0].message.content == "second try"
    assert [r.injected for r in openai_api.requests] == [["slow"], []]
    await client.close()


@pytest.mark.parametrize(
    ("status", "error"),
    [(500, openai.InternalServerError), (503, openai.InternalServerError), (429, openai.RateLimitError)],
)
async def test_failures_raise_the_client_errors_without_retries(
    openai_api: OpenAIApi, client: openai.AsyncOpenAI, status: int, error: type[openai.APIStatusError]
) -> None:
    openai_api.fail_next(status)
    with pytest.raises(error) as info:
        await client.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert info.value.status_code == status
    assert info.value.request_id is not None and info.value.request_id.startswith("req_")
    if status == 429:
        assert info.value.code == "rate_limit_exceeded"
        assert info.value.response.headers["retry-after"] == "1"
    assert len(openai_api.requests) == 1
    assert openai_api.chat_calls == []


async def test_a_429_is_retried_after_retry_after_ms(openai_api: OpenAIApi) -> None:
    client = openai.AsyncOpenAI(api_key=openai_api.api_key, base_url=openai_api.base_url, max_retries=2)
    openai_api.fail_next(429, retry_after=0.05)
    openai_api.fail_next(500)
    openai_api.answer_with("finally")
    completion = await client.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert completion.choices[0].message.content == "finally"
    first, second, third = openai_api.requests
    assert (first.status, second.status, third.status) == (429, 500, 200)
    assert second.monotonic - first.monotonic < 0.4  # retry-after-ms, not the 0.5 s backoff
    await client.close()


async def test_a_wrong_key_is_authentication_error(openai_api: OpenAIApi) -> None:
    client = openai.AsyncOpenAI(api_key="sk-wrong-key-123456", base_url=openai_api.base_url, max_retries=0)
    with pytest.raises(openai.AuthenticationError) as info:
        await client.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert info.value.code == "invalid_api_key"
    await client.close()


async def test_requests_are_validated_like_the_api(client: openai.AsyncOpenAI) -> None:
    loose_schema = {**SCHEMA, "additionalProperties": True, "required": ["category"]}
    loose: Any = {
        "type": "json_schema",
        "json_schema": {"name": "classification", "strict": True, "schema": loose_schema},
    }
    with pytest.raises(openai.BadRequestError) as strict:
        await client.chat.completions.create(model=MODEL, messages=MESSAGES, response_format=loose)
    assert "additionalProperties" in strict.value.message
    with pytest.raises(openai.BadRequestError) as no_json:
        await client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "hello"}], response_format={"type": "json_object"}
        )
    assert "json" in no_json.value.message
    with pytest.raises(openai.BadRequestError):
        await client.chat.completions.create(model=MODEL, messages=[])
    with pytest.raises(openai.BadRequestError):
        await client.chat.completions.create(model=MODEL, messages=[{"role": "wizard", "content": "hi"}])  # type: ignore[list-item,misc]
    with pytest.raises(openai.NotFoundError):
        await client.post("/no/such/endpoint", cast_to=object, body={})


def test_strict_schema_problems_name_the_nested_object() -> None:
    schema = {
        "type": "object",
        "properties": {
            "steps": {"type": "array", "items": {"type": "object", "properties": {"x": {"type": "string"}}}}
        },
        "required": ["steps"],
        "additionalProperties": False,
    }
    problems = strict_schema_problems(schema)
    assert problems[0].startswith("In context=('properties', 'steps', 'items'), 'additionalProperties'")
    assert "Missing ['x']" in problems[1]
    assert strict_schema_problems(SCHEMA) == []


async def test_embeddings_are_deterministic_in_both_encodings(
    openai_api: OpenAIApi, client: openai.AsyncOpenAI
) -> None:
    default = await client.embeddings.create(model="text-embedding-3-small", input=["refund please", "login broken"])
    floats = await client.embeddings.create(
        model="text-embedding-3-small", input="refund please", encoding_format="float"
    )
    assert [r.body["encoding_format"] for r in openai_api.calls("embeddings")] == [
        "base64",
        "float",
    ]  # the client's default
    assert default.data[0].embedding == floats.data[0].embedding == openai_api.embedding_for("refund please")
    assert default.data[1].embedding != default.data[0].embedding
    assert len(floats.data[0].embedding) == 8
    assert abs(sum(v * v for v in floats.data[0].embedding) - 1) < 1e-5
    sized = await client.embeddings.create(model="text-embedding-3-small", input="refund please", dimensions=32)
    assert len(sized.data[0].embedding) == 32
    assert default.usage.prompt_tokens > 0


def test_the_sync_client_works_too(openai_api: OpenAIApi) -> None:
    openai_api.answer_with({"category": "billing", "confidence": 1.0})
    with openai.OpenAI(api_key=openai_api.api_key, base_url=openai_api.base_url, max_retries=0) as client:
        completion = client.chat.completions.create(model=MODEL, messages=MESSAGES, response_format=JSON_SCHEMA_FORMAT)
    assert json.loads(completion.choices[0].message.content or "")["category"] == "billing"
