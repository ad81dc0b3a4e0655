"""A local OpenAI API (chat completions and embeddings) for tests, used through the real `openai` client.

    with OpenAIApi() as openai_api:                      # or the `openai_api` fixture
        client = AsyncOpenAI(api_key=openai_api.api_key, base_url=openai_api.url + "/v1", max_retries=0)
        openai_api.answer_with({"category": "billing", "confidence": 0.9})
        completion = await client.chat.completions.create(model="gpt-4o-mini", messages=[...],
                                                          response_format={"type": "json_schema", ...})
        json.loads(completion.choices[0].message.content)  # the dict, as structured output arrives
        openai_api.chat_calls[-1].response_format          # what was asked for

Answers are used in the order queued, one per chat completion; with none queued the `default_answer`
(settable) is given. An answer is a str (the assistant's content as is), a dict or list (JSON-encoded, the way
structured output arrives), or a callable taking the `ChatCall` and returning either, for answers that
depend on the prompt. `answer_invalid()` queues content that is not the JSON asked for (truncated JSON by
default); `answer_refusal()` a refusal (content null, `refusal` set); `answer_with(..., finish_reason="length")`
a cut-off answer. `fail_next(500 | 503 | 429)` answers OpenAI's error JSON (429 with `retry-after` and
`retry-after-ms`, which the client honours before its own backoff); `slow_next(seconds)` holds an answer back
(`client.with_options(timeout=...)` then raises `openai.APITimeoutError`; note the client retries timeouts
and 408/409/429/5xx twice by default, so pass `max_retries=0` to see the first failure).

Requests are checked like the real API: `Authorization: Bearer <api_key>` (401 invalid_api_key), a model
and a non-empty messages list with known roles (400), `response_format` of type text, json_object (the
messages must mention "json") or json_schema (a name; with `strict: true` every object in the schema needs
`additionalProperties: false` and all its properties `required`, the rule that surprises people in
production). Streaming is not offered (400). Everything is recorded (`requests`, `calls(...)`) and chat
completions also as `chat_calls` (model, messages, response_format, body).

`POST /v1/embeddings` answers deterministic unit vectors derived from a hash of each input (8 dimensions
unless `embedding_dimensions` or the request's `dimensions` says otherwise), as floats or, when asked for
`encoding_format="base64"` (which the openai client asks for by default and decodes itself), as base64
float32; `OpenAIApi.embedding_for(text)` gives the same vector for assertions.

Fixture: `openai_api` (a running `OpenAIApi`). A test module outside tests/fakes brings it in with
`from tests.fakes.openai_api import openai_api_fixture  # noqa: F401`.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import math
import re
import struct
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import pytest
from aiohttp import web

from tests.fakes import Failure, FakeApiServer, RecordedRequest

__all__ = ["ChatCall", "OpenAIApi", "openai_api_fixture", "strict_schema_problems"]

DEFAULT_API_KEY = "sk-test-wedsync-000000000000000000000000"
ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
INVALID_JSON = '{"category": "billing", "confidence": 0.9, "reason": "The customer says their card was'

Content = str | dict[str, Any] | list[Any]


class ChatCall(NamedTuple):
    """One chat completion request: the model, the messages, the response_format (None if not given) and
    the whole JSON body."""

    model: str
    messages: list[dict[str, Any]]
    response_format: dict[str, Any] | None
    body: dict[str, Any]


@dataclass
class _Answer:
    content: Content | Callable[[ChatCall], Content] | None
    finish_reason: str = "stop"
    refusal: str | None = None


class OpenAIError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"message": message, "type": type_, "param": param, "code": code}}


def strict_schema_problems(schema: Any, where: tuple[str, ...] = ()) -> list[str]:
    """What OpenAI's strict structured outputs refuse in a JSON schema, worded as the API words it: objects
    without `additionalProperties: false`, or with properties missing from `required`. [] if none."""
    if not isinstance(schema, dict):
        return []
    problems: list[str] = []
    kind = schema.get("type")
    properties = schema.get("properties")
    if kind == "object" or (isinstance(kind, list) and "object" in kind) or isinstance(properties, dict):
        if schema.get("additionalProperties") is not False:
            problems.append(f"In context={where}, 'additionalProperties' is required to be supplied and to be false.")
        keys = list(properties) if isinstance(properties, dict) else []
        required = schema.get("required")
        missing = [key for key in keys if not isinstance(required, list) or key not in required]
        if missing or not isinstance(required, list):
            problems.append(
                f"In context={where}, 'required' is required to be supplied and to be an array including every key "
                f"in properties. Missing {missing!r}."
            )
    for key, value in schema.items():
        if key in ("properties", "$defs", "definitions") and isinstance(value, dict):
            for name, sub in value.items():
                problems.extend(strict_schema_problems(sub, (*where, key, name)))
        elif key in ("items", "not") and isinstance(value, dict):
            problems.extend(strict_schema_problems(value, (*where, key)))
        elif key in ("anyOf", "allOf", "oneOf", "prefixItems") and isinstance(value, list):
            for index, sub in enumerate(value):
                problems.extend(strict_schema_problems(sub, (*where, key, str(index))))
    return problems


def _tokens(text: str) -> int:
    """A rough token count (about four characters a token), for `usage`."""
    return max(1, math.ceil(len(text) / 4)) if text else 0


def _message_text(message: Any) -> str:
    if not isinstance(message, dict):
        return ""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


class OpenAIApi(FakeApiServer):
    """OpenAI's chat completions and embeddings on 127.0.0.1; see the module docstring."""

    name = "fake-openai"

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        default_answer: Content = "OK",
        embedding_dimensions: int = 8,
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__(host=host)
        self.api_key = api_key
        self.default_answer: Content | Callable[[ChatCall], Content] = default_answer
        self.embedding_dimensions = embedding_dimensions
        self._answers: list[_Answer] = []
        self._chat_calls: list[ChatCall] = []

    def reset(self) -> None:
        self._answers.clear()
        self._chat_calls.clear()

    @property
    def base_url(self) -> str:
        """What the openai client takes as base_url: `url + "/v1"`."""
        return f"{self.origin}/v1"

    # -- scripting -----------------------------------------------------------------------------------------

    def answer_with(
        self,
        content: Content | Callable[[ChatCall], Content],
        *,
        times: int = 1,
        finish_reason: str = "stop",
    ) -> None:
        """Queue the next `times` answers: a str as is, a dict/list JSON-encoded, a callable called with the
        `ChatCall` (returning either)."""
        with self.lock:
            self._answers.extend(_Answer(content, finish_reason) for _ in range(times))

    def answer_invalid(self, content: str = INVALID_JSON, *, times: int = 1) -> None:
        """Queue content that is not the JSON asked for (by default JSON cut off mid-string)."""
        self.answer_with(content, times=times)

    def answer_refusal(self, refusal: str = "I'm sorry, I can't help with that request.") -> None:
        """Queue a refusal: content null and `message.refusal` set, as structured outputs refuse."""
        with self.lock:
            self._answers.append(_Answer(None, "stop", refusal))

    # -- what tests read -----------------------------------------------------------------------------------

    @property
    def chat_calls(self) -> list[ChatCall]:
        """Every chat completion request that got past authentication and validation, oldest first."""
        with self.lock:
            return list(self._chat_calls)

    @property
    def pending_answers(self) -> int:
        with self.lock:
            return len(self._answers)

    def embedding_for(
        self, text: str | list[int], model: str = "text-embedding-3-small", dimensions: int | None = None
    ) -> list[float]:
        """The vector the stand-in answers for `text`: a unit vector from SHA-256 of the model and the text,
        each value rounded to float32 (so it is equal whether it travelled as floats or base64)."""
        size = dimensions or self.embedding_dimensions
        seed = json.dumps([model, text], ensure_ascii=False).encode()
        raw: list[float] = []
        counter = 0
        while len(raw) < size:
            digest = hashlib.sha256(seed + counter.to_bytes(4, "big")).digest()
            raw.extend(int.from_bytes(digest[i : i + 4], "big") / 0xFFFFFFFF * 2 - 1 for i in range(0, 32, 4))
            counter += 1
        vector = raw[:size]
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [struct.unpack("<f", struct.pack("<f", v / norm))[0] for v in vector]

    # -- HTTP --------------------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"x-request-id": f"req_{uuid.uuid4().hex}", "openai-processing-ms": "12", "openai-version": "2020-10-01"}

    def failure_response(self, failure: Failure, request: RecordedRequest) -> web.StreamResponse:
        headers = self._headers()
        if failure.status == 429:
            body = {
                "error": {
                    "message": "Rate limit reached for requests. Please try again shortly.",
                    "type": "requests",
                    "param": None,
                    "code": "rate_limit_exceeded",
                }
            }
            if failure.retry_after is not None:
                headers["retry-after-ms"] = str(max(0, round(failure.retry_after * 1000)))
        elif failure.status == 503:
            body = {
                "error": {
                    "message": "The engine is currently overloaded, please try again later.",
                    "type": "server_error",
                    "param": None,
                    "code": None,
                }
            }
        elif failure.status >= 500:
            body = {
                "error": {
                    "message": "The server had an error while processing your request. Sorry about that!",
                    "type": "server_error",
                    "param": None,
                    "code": None,
                }
            }
        else:
            body = {
                "error": {
                    "message": f"Injected error {failure.status}",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": None,
                }
            }
        return self.render_failure(failure, body, headers)

    async def handle(self, request: RecordedRequest) -> web.StreamResponse:
        try:
            body = self._route(request)
        except OpenAIError as error:
            return web.json_response(error.body, status=error.status, headers=self._headers())
        return web.json_response(body, headers=self._headers())

    def _route(self, request: RecordedRequest) -> dict[str, Any]:
        routes = {("POST", "/v1/chat/completions"): self._chat, ("POST", "/v1/embeddings"): self._embeddings}
        route = routes.get((request.method, request.path.rstrip("/")))
        if route is None:
            raise OpenAIError(404, f"Invalid URL ({request.method} {request.path})")
        self._authenticate(request)
        if not isinstance(request.body, dict) or request.content_type != "application/json":
            raise OpenAIError(
                400,
                "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
                "HTTP library correctly. The OpenAI API expects a JSON payload.)",
            )
        return route(request.body)

    def _authenticate(self, request: RecordedRequest) -> None:
        header = request.header("authorization") or ""
        if not header.startswith("Bearer ") or not header[7:].strip():
            raise OpenAIError(
                401,
                "You didn't provide an API key. You need to provide your API key in an Authorization header using "
                "Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            )
        key = header[7:].strip()
        if key != self.api_key:
            shown = key[:3] + "*" * max(0, len(key) - 7) + key[-4:]
            raise OpenAIError(
                401,
                f"Incorrect API key provided: {shown}. You can find your API key at https://platform.openai.com/account/api-keys.",
                code="invalid_api_key",
            )

    def _check_chat(self, body: dict[str, Any]) -> ChatCall:
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise OpenAIError(400, "you must provide a model parameter")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise OpenAIError(400, f"{messages!r} is too short - 'messages'", param="messages")
        for index, message in enumerate(messages):
            if not isinstance(message, dict) or message.get("role") not in ROLES:
                role = message.get("role") if isinstance(message, dict) else None
                raise OpenAIError(
                    400,
                    f"Invalid value: {role!r}. Supported values are: 'system', 'assistant', 'user', 'function', "
                    "'tool', and 'developer'.",
                    param=f"messages[{index}].role",
                    code="invalid_value",
                )
        if body.get("stream"):
            raise OpenAIError(400, "The stand-in does not stream: call without stream=True.", param="stream")
        response_format = body.get("response_format")
        if response_format is not None:
            self._check_response_format(response_format, messages)
        return ChatCall(model, messages, response_format, body)

    def _check_response_format(self, response_format: Any, messages: list[dict[str, Any]]) -> None:
        kind = response_format.get("type") if isinstance(response_format, dict) else None
        if kind not in ("text", "json_object", "json_schema"):
            raise OpenAIError(
                400,
                f"Invalid value: {kind!r}. Supported values are: 'json_object', 'json_schema', and 'text'.",
                param="response_format.type",
                code="invalid_value",
            )
        assert isinstance(response_format, dict)
        if kind == "json_object" and not any("json" in _message_text(m).lower() for m in messages):
            raise OpenAIError(
                400,
                "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.",
                param="messages",
            )
        if kind == "json_schema":
            spec = response_format.get("json_schema")
            if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
                raise OpenAIError(
                    400,
                    "Missing required parameter: 'response_format.json_schema.name'.",
                    param="response_format.json_schema.name",
                    code="missing_required_parameter",
                )
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", spec["name"]):
                raise OpenAIError(
                    400,
                    "Invalid 'response_format.json_schema.name': string does not match pattern.",
                    param="response_format.json_schema.name",
                    code="invalid_value",
                )
            if spec.get("strict"):
                problems = strict_schema_problems(spec.get("schema", {}))
                if problems:
                    raise OpenAIError(
                        400,
                        f"Invalid schema for response_format '{spec['name']}': {problems[0]}",
                        param="response_format",
                        code="invalid_json_schema",
                    )

    def _chat(self, body: dict[str, Any]) -> dict[str, Any]:
        call = self._check_chat(body)
        with self.lock:
            self._chat_calls.append(call)
            answer = self._answers.pop(0) if self._answers else _Answer(self.default_answer)
        content = answer.content(call) if callable(answer.content) else answer.content
        text = content if content is None or isinstance(content, str) else json.dumps(content, ensure_ascii=False)
        message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": answer.refusal, "annotations": []}
        n = int(body.get("n") or 1)
        prompt = sum(_tokens(_message_text(m)) + 4 for m in call.messages)
        completion = _tokens(text or answer.refusal or "")
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:29]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": call.model,
            "choices": [
                {"index": i, "message": copy.deepcopy(message), "logprobs": None, "finish_reason": answer.finish_reason}
                for i in range(n)
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion * n,
                "total_tokens": prompt + completion * n,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {
                    "reasoning_tokens": 0,
                    "audio_tokens": 0,
                    "accepted_prediction_tokens": 0,
                    "rejected_prediction_tokens": 0,
                },
            },
            "service_tier": "default",
            "system_fingerprint": "fp_wedsync_fake",
        }

    def _embeddings(self, body: dict[str, Any]) -> dict[str, Any]:
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise OpenAIError(400, "you must provide a model parameter")
        given = body.get("input")
        inputs: list[Any]
        if isinstance(given, str) or (isinstance(given, list) and given and all(isinstance(t, int) for t in given)):
            inputs = [given]
        elif isinstance(given, list) and given:
            inputs = given
        else:
            raise OpenAIError(400, "'input' is a required property", param="input")
        if any(item == "" for item in inputs):
            raise OpenAIError(
                400,
                "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
                param="input",
            )
        dimensions = body.get("dimensions")
        if dimensions is not None and (not isinstance(dimensions, int) or dimensions < 1):
            raise OpenAIError(400, f"Invalid value for 'dimensions': {dimensions!r}.", param="dimensions")
        encoding = body.get("encoding_format") or "float"
        if encoding not in ("float", "base64"):
            raise OpenAIError(
                400,
                f"Invalid value: {encoding!r}. Supported values are: 'float' and 'base64'.",
                param="encoding_format",
            )
        data = []
        for index, item in enumerate(inputs):
            vector = self.embedding_for(item, model, dimensions)
            embedding: Any = vector
            if encoding == "base64":
                embedding = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        tokens = sum(_tokens(item) if isinstance(item, str) else len(item) for item in inputs)
        return {
            "object": "list",
            "data": data,
            "model": model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }


@pytest.fixture(name="openai_api")
def openai_api_fixture() -> Iterator[OpenAIApi]:
    """A running `OpenAIApi` (key `openai_api.api_key`, base URL `openai_api.base_url`), stopped after the test."""
    with OpenAIApi() as api:
        yield api
