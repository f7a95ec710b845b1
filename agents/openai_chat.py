"""A chat backend for any OpenAI-compatible server (OpenAI, vLLM, SGLang, Ollama).

It uses the official ``openai`` SDK for the transport, with the SDK's own retries
turned off: :class:`OpenAIChat` retries itself, with exponential backoff and full
jitter, honouring ``Retry-After``, and raises brigade's typed infrastructure
errors when the retries are spent (see :meth:`OpenAIChat.complete_request`).

Which server and key: the ``base_url`` and ``api_key`` arguments, else the
``OPENAI_BASE_URL`` and ``OPENAI_API_KEY`` environment variables. Local servers
(vLLM, SGLang, Ollama) usually need no key: with a custom base URL and no key, the
dummy key ``EMPTY`` is sent.

Guided decoding: ``guided_regex`` is sent in the request body as vLLM's
``guided_regex`` extra parameter, which constrains the reply to the regular
expression. Other servers spell it differently (SGLang: ``regex``; OpenAI itself
has no regex constraint): pass their parameter through ``extra_body`` instead.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import openai
from openai.types.chat import ChatCompletion

from brigade.agents.limits import CallLimits, Clock, RetryPolicy, Sleep
from brigade.chat import (
    ChatModel,
    ChatRequest,
    Completion,
    Usage,
    estimate_tokens,
    messages_tokens,
)
from brigade.errors import (
    ChatTimeoutError,
    ConfigError,
    InfrastructureError,
    InputError,
    RateLimitError,
    ServerError,
)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
LOCAL_DUMMY_KEY = "EMPTY"
# Statuses worth another attempt: the server may answer differently later.
_RETRYABLE_STATUS = frozenset({408, 409, 429})


class _Failure(Exception):
    """One failed attempt: which typed error it maps to and whether to try again."""

    def __init__(
        self,
        error: type[InfrastructureError] | type[InputError],
        label: str,
        detail: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(detail)
        self.error = error
        self.label = label
        self.detail = detail
        self.retryable = retryable
        self.retry_after = retry_after


class OpenAIChat(ChatModel):
    """A :class:`~brigade.chat.ChatModel` on an OpenAI-compatible chat-completions server.

    Args:
        model: The model's name on the server.
        base_url: The server's API root (``http://localhost:8000/v1``); default
            ``OPENAI_BASE_URL``, else OpenAI's.
        api_key: The key; default ``OPENAI_API_KEY``, else ``EMPTY`` for a custom
            base URL.
        timeout_s: Seconds one attempt may take.
        retry: How failed attempts are retried.
        max_concurrency: Most requests in flight at once (over all threads).
        requests_per_s: Most requests started per second (``None``: no limit).
        guided_regex: Constrain replies to this regular expression (vLLM guided
            decoding; see the module's notes for other servers).
        extra_body: Extra JSON fields sent with every request.
        clock: Monotonic seconds (latency, rate limiting).
        sleep: Waits seconds (backoff, rate limiting).
        rng: Source of the backoff jitter.

    Raises:
        ConfigError: No key is set for OpenAI's own server, or a limit is invalid.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        retry: RetryPolicy | None = None,
        max_concurrency: int = 8,
        requests_per_s: float | None = None,
        guided_regex: str | None = None,
        extra_body: dict[str, Any] | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if not model:
            raise ConfigError("a model name is needed", key="model")
        if not timeout_s > 0:
            raise ConfigError(f"must be > 0, not {timeout_s}", key="timeout_s")
        self.model = model
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip(
            "/"
        )
        key = api_key or os.environ.get("OPENAI_API_KEY") or ""
        if not key:
            if self.base_url == DEFAULT_BASE_URL:
                raise ConfigError(
                    "no API key for OpenAI: set OPENAI_API_KEY (or, for a local server, "
                    "OPENAI_BASE_URL such as http://localhost:8000/v1)",
                    key="api_key",
                )
            key = LOCAL_DUMMY_KEY
        self.timeout_s = float(timeout_s)
        self.retry = retry or RetryPolicy()
        self.guided_regex = guided_regex
        self.extra_body = dict(extra_body or {})
        self.limits = CallLimits(max_concurrency, requests_per_s, clock=clock, sleep=sleep)
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        self._client = openai.OpenAI(
            api_key=key, base_url=self.base_url, timeout=self.timeout_s, max_retries=0
        )

    def _body_extras(self) -> dict[str, Any] | None:
        extras = dict(self.extra_body)
        if self.guided_regex is not None:
            extras["guided_regex"] = self.guided_regex
        return extras or None

    def complete_request(self, request: ChatRequest) -> Completion:
        """Send ``request``, retrying transient failures, and return the reply.

        Retried: 429 (waiting as long as ``Retry-After`` asks, capped), 408, 409,
        5xx, timeouts, dropped connections and malformed bodies (not JSON, no
        choices). Not retried: 400/422 (a bad request, raised as ``InputError``),
        401/403 (authentication) and other 4xx (``ServerError``).

        Raises:
            RateLimitError: The last attempt was refused for rate limits (HTTP 429).
            ChatTimeoutError: The last attempt timed out.
            ServerError: The last attempt failed otherwise (5xx, connection,
                malformed body), or authentication or another 4xx failed.
            InputError: The server rejected the request as malformed (400/422).
        """
        params = request.params
        kwargs: dict[str, Any] = {
            "model": request.model or self.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_tokens,
        }
        if params.stop:
            kwargs["stop"] = list(params.stop)
        if params.seed is not None:
            kwargs["seed"] = params.seed
        extras = self._body_extras()
        if extras:
            kwargs["extra_body"] = extras

        start = self._clock()
        history: list[str] = []
        attempt = 0
        while True:
            try:
                with self.limits:
                    response = self._client.chat.completions.create(**kwargs)
                text, reported_model, usage = _read(response)
            except Exception as exc:
                failure = _classify(exc, self.retry)
                if failure is None:
                    raise
                history.append(failure.label)
                if not failure.retryable or attempt >= self.retry.max_retries:
                    cause = None if isinstance(exc, _Failure) else exc
                    raise self._give_up(failure, history) from cause
                self._sleep(self._wait(attempt, failure))
                attempt += 1
                continue
            if usage is None:
                usage = Usage(
                    messages_tokens(request.messages), estimate_tokens(text), source="estimate"
                )
            return Completion(
                text=text,
                usage=usage,
                latency_s=self._clock() - start,
                cached=False,
                model=reported_model or kwargs["model"],
                retries=attempt,
            )

    def _wait(self, attempt: int, failure: _Failure) -> float:
        if failure.retry_after is not None:
            return failure.retry_after
        with self._rng_lock:
            return self.retry.backoff_s(attempt, self._rng)

    def _give_up(self, failure: _Failure, history: list[str]) -> Exception:
        attempts = len(history)
        where = f"model {self.model!r} at {_redact(self.base_url)}"
        if not failure.retryable:
            return failure.error(f"{failure.detail} ({where}; not retried)")
        plural = "attempt" if attempts == 1 else "attempts"
        return failure.error(
            f"{failure.detail} ({where}); gave up after {attempts} {plural} "
            f"[{', '.join(history)}]; last: {failure.label}"
        )

    def describe(self) -> dict[str, object]:
        """Backend, model, base URL (never the key) and the settings that shape replies."""
        return {
            "backend": "openai",
            "model": self.model,
            "base_url": _redact(self.base_url),
            "timeout_s": self.timeout_s,
            "max_retries": self.retry.max_retries,
            "max_concurrency": self.limits.max_concurrency,
            "requests_per_s": self.limits.requests_per_s,
            "guided_regex": self.guided_regex,
            "extra_body": dict(self.extra_body),
        }

    def close(self) -> None:
        """Close the HTTP client's connections."""
        self._client.close()


def _read(response: object) -> tuple[str, str, Usage | None]:
    """The reply's text, the model the server named, and its usage if it sent one."""
    if not isinstance(response, ChatCompletion):
        raise _Failure(
            ServerError, "malformed", "the server's answer is not a chat completion", retryable=True
        )
    choices = getattr(response, "choices", None)
    if not choices:
        raise _Failure(
            ServerError, "malformed", "the server's answer has no choices", retryable=True
        )
    message = getattr(choices[0], "message", None)
    content = getattr(message, "content", None) if message is not None else None
    if message is None or not isinstance(content, (str, type(None))):
        raise _Failure(
            ServerError, "malformed", "the server's answer has no message", retryable=True
        )
    usage = getattr(response, "usage", None)
    tokens_in = getattr(usage, "prompt_tokens", None)
    tokens_out = getattr(usage, "completion_tokens", None)
    counted = (
        Usage(tokens_in, tokens_out, source="server")
        if isinstance(tokens_in, int) and isinstance(tokens_out, int)
        else None
    )
    model = getattr(response, "model", None)
    return content or "", model if isinstance(model, str) else "", counted


def _classify(exc: Exception, policy: RetryPolicy) -> _Failure | None:
    """Map an exception of one attempt to a :class:`_Failure` (``None``: not ours)."""
    if isinstance(exc, _Failure):
        return exc
    if isinstance(exc, openai.APITimeoutError):
        return _Failure(ChatTimeoutError, "timeout", "the request timed out", retryable=True)
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        reason = f": {type(cause).__name__}" if cause is not None else ""
        return _Failure(ServerError, "connection", f"the connection failed{reason}", retryable=True)
    if isinstance(exc, openai.APIResponseValidationError):
        return _Failure(
            ServerError, "malformed", "the server's answer is malformed", retryable=True
        )
    if isinstance(exc, json.JSONDecodeError):
        return _Failure(ServerError, "malformed", "the server's answer is not JSON", retryable=True)
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        label = f"HTTP {status}"
        said = _server_message(exc)
        if status == 429:
            wait = policy.retry_after_seconds(exc.response.headers)
            return _Failure(
                RateLimitError,
                label,
                f"rate limited (HTTP 429{said})",
                retryable=True,
                retry_after=wait,
            )
        if status in (401, 403):
            return _Failure(
                ServerError,
                label,
                f"authentication failed: check OPENAI_API_KEY (HTTP {status}{said})",
                retryable=False,
            )
        if status in (400, 422):
            return _Failure(
                InputError,
                label,
                f"the server rejected the request (HTTP {status}{said})",
                retryable=False,
            )
        if status >= 500 or status in _RETRYABLE_STATUS:
            if status == 408:
                return _Failure(
                    ChatTimeoutError,
                    label,
                    f"the server timed out (HTTP 408{said})",
                    retryable=True,
                )
            return _Failure(
                ServerError, label, f"the server failed (HTTP {status}{said})", retryable=True
            )
        hint = ": check the model name and OPENAI_BASE_URL" if status == 404 else ""
        return _Failure(
            ServerError,
            label,
            f"the server refused the request{hint} (HTTP {status}{said})",
            retryable=False,
        )
    return None


def _server_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        message = error.get("message") if isinstance(error, dict) else None
        if isinstance(message, str) and message:
            return f": {message[:200]}"
    return ""


def _redact(url: str) -> str:
    """``url`` without user name and password."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
