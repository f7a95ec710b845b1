"""Test doubles shared by the tests; nothing outside ``tests/`` imports them.

- :class:`FakeClock`: a clock whose ``sleep`` advances time at once and records waits.
- :class:`EchoChat`: an in-memory :class:`~brigade.chat.ChatModel` that counts its calls.
- ``openai_server``: a local OpenAI-compatible server that injects faults.
"""

from __future__ import annotations

import hashlib
import threading

from brigade.chat import ChatModel, ChatRequest, Completion, Usage
from brigade.errors import InfrastructureError


class FakeClock:
    """A monotonic clock for tests: ``sleep`` advances it instantly and records the wait.

    Pass ``clock=fake.now, sleep=fake.sleep`` to the code under test.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self._lock = threading.Lock()
        self._now = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        """The current fake time, in seconds."""
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        """Record the wait and advance the clock by it."""
        with self._lock:
            self.sleeps.append(seconds)
            self._now += max(0.0, seconds)

    def advance(self, seconds: float) -> None:
        """Advance the clock without recording a sleep."""
        with self._lock:
            self._now += seconds


class EchoChat(ChatModel):
    """A deterministic in-memory chat model that counts its calls.

    The reply is the last message's first line and a short hash of the whole
    request, so different requests get different replies.

    Args:
        model: The model's name.
        fail_with: Raise this instead of answering (to test error paths).
    """

    def __init__(self, model: str = "echo", fail_with: InfrastructureError | None = None) -> None:
        self.model = model
        self.fail_with = fail_with
        self._lock = threading.Lock()
        self.calls: list[ChatRequest] = []

    @property
    def call_count(self) -> int:
        """How many requests it was asked."""
        with self._lock:
            return len(self.calls)

    def complete_request(self, request: ChatRequest) -> Completion:
        """Answer ``request`` (or raise ``fail_with``)."""
        with self._lock:
            self.calls.append(request)
        if self.fail_with is not None:
            raise self.fail_with
        last = request.messages[-1].content.splitlines() if request.messages else []
        digest = hashlib.sha256(request.canonical().encode()).hexdigest()[:8]
        text = f"{last[0] if last else ''} #{digest}"
        tokens_in = sum(len(m.content.split()) for m in request.messages)
        return Completion(
            text=text,
            usage=Usage(tokens_in, len(text.split()), source="server"),
            latency_s=0.25,
            model=request.model,
        )
