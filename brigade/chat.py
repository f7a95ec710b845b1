"""Chat models: the interface every LLM backend implements, and its request and reply types.

A reply depends only on the request (the model, the messages, the sampling
parameters and the seed), for every backend: that is what makes caching,
replay and running over the bus honest. :meth:`ChatRequest.key` is the hash
that identifies a request.
"""

from __future__ import annotations

import hashlib
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from brigade.errors import InputError

ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class Message:
    """One chat message.

    Attributes:
        role: ``system``, ``user`` or ``assistant``.
        content: The text.
    """

    role: str
    content: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise InputError(f"a message role is one of {ROLES}, not {self.role!r}")
        if not isinstance(self.content, str):
            raise InputError("a message's content is text")


@dataclass(frozen=True)
class SamplingParams:
    """How to sample a reply.

    Attributes:
        temperature: Sampling temperature (0: greedy).
        top_p: Nucleus sampling mass.
        max_tokens: Most tokens in the reply.
        stop: Stop sequences.
        seed: Seed of the sampling (part of the request: same seed, same reply).
    """

    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 512
    stop: tuple[str, ...] = ()
    seed: int | None = None

    def __post_init__(self) -> None:
        # 1 and 1.0 must make the same request (and cache key).
        object.__setattr__(self, "temperature", float(self.temperature))
        object.__setattr__(self, "top_p", float(self.top_p))
        object.__setattr__(self, "stop", tuple(self.stop))


@dataclass(frozen=True)
class Usage:
    """Tokens of one call.

    Attributes:
        tokens_in: Prompt tokens.
        tokens_out: Reply tokens.
        source: ``server`` (reported by the server), ``tokenizer`` (counted with the
            model's tokenizer) or ``estimate`` (:func:`estimate_tokens`).
    """

    tokens_in: int
    tokens_out: int
    source: str = "server"


@dataclass(frozen=True)
class Completion:
    """A reply.

    Attributes:
        text: The reply's text.
        usage: Its tokens.
        latency_s: Seconds the call took (retries included).
        cached: It came from a record/replay cache.
        model: The model that answered.
        retries: Transport retries the call needed.
    """

    text: str
    usage: Usage
    latency_s: float
    cached: bool = False
    model: str = ""
    retries: int = 0


@dataclass(frozen=True)
class ChatRequest:
    """Everything a reply may depend on."""

    model: str
    messages: tuple[Message, ...]
    params: SamplingParams = field(default_factory=SamplingParams)

    def canonical(self) -> str:
        """A canonical JSON text of the request (sorted keys, no white space)."""
        data = {
            "model": self.model,
            "messages": [asdict(m) for m in self.messages],
            "params": asdict(self.params),
        }
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def key(self) -> str:
        """The request's SHA-256 (hex): the cache key and the seed of simulated replies."""
        return hashlib.sha256(self.canonical().encode()).hexdigest()


class ChatModel(ABC):
    """A chat model backend (OpenAI-compatible server, local transformers, simulated).

    Attributes:
        model: The model's name (recorded in manifests and cache keys).
    """

    model: str = ""

    def complete(
        self,
        messages: Sequence[Message],
        *,
        temperature: float = 0.0,
        max_tokens: int = 512,
        stop: Sequence[str] = (),
        seed: int | None = None,
        top_p: float = 1.0,
    ) -> Completion:
        """Ask for one reply to ``messages``.

        Raises:
            InfrastructureError: The backend failed (rate limits, timeouts, server
                errors, budget) after its retries.
        """
        request = ChatRequest(
            self.model,
            tuple(messages),
            SamplingParams(temperature, top_p, max_tokens, tuple(stop), seed),
        )
        return self.complete_request(request)

    @abstractmethod
    def complete_request(self, request: ChatRequest) -> Completion:
        """Answer a full request (what :meth:`complete` calls)."""

    def close(self) -> None:  # noqa: B027 (optional hook with nothing to do by default)
        """Release connections, threads or weights (optional)."""

    def describe(self) -> dict[str, object]:
        """Settings that identify the backend (recorded in every run's manifest)."""
        return {"backend": type(self).__name__, "model": self.model}


_TOKEN_RE = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def estimate_tokens(text: str) -> int:
    """A documented token count for backends without a tokenizer or server counts.

    Each run of word characters counts as ``ceil(len / 4)`` tokens (BPE vocabularies
    split long words) and each punctuation mark as one. On English prompts this is
    within about 15% of GPT-style tokenizers.
    """
    count = 0
    for piece in _TOKEN_RE.findall(text):
        count += (len(piece) + 3) // 4 if piece[0].isalnum() or piece[0] == "_" else 1
    return count


def messages_tokens(messages: Sequence[Message]) -> int:
    """:func:`estimate_tokens` over a conversation, with 4 tokens of framing per message."""
    return sum(estimate_tokens(m.content) + 4 for m in messages)
