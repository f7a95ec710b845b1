"""The chat client of one episode: counts queries, keeps the transcript, enforces the budget.

:class:`ChatSession` implements :class:`~brigade.planner.ChatClient` over any
:class:`~brigade.chat.ChatModel`. Each query gets a seed derived from the
episode's seed and the query's index, so an episode's requests (and, for every
backend, its replies) are the same on every run with the same seed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from brigade.agents.ledger import Ledger
from brigade.chat import ChatModel, Message, SamplingParams
from brigade.errors import InputError, ServerError


@dataclass
class TranscriptEntry:
    """One event of an episode's transcript."""

    kind: str
    data: dict[str, Any]
    t: float = field(default_factory=time.time)


def query_seed(episode_seed: int, index: int) -> int:
    """The seed of the ``index``-th query of an episode (deterministic, 31 bits)."""
    return (episode_seed * 1_000_003 + index * 7_919 + 17) % (2**31 - 1)


class ChatTotals:
    """What a runner reads of an episode's chat: the transcript and the counters.

    Attributes:
        entries: The transcript, in order.
        queries: Queries asked (NQ).
        retries: Transport retries they needed.
        tokens_in: Prompt tokens.
        tokens_out: Reply tokens.
        cost_usd: What they cost.
    """

    def __init__(self) -> None:
        self.entries: list[TranscriptEntry] = []
        self.queries = 0
        self.retries = 0
        self.tokens_in = 0
        self.tokens_out = 0
        self.cost_usd = 0.0

    def note(self, kind: str, text: str, **data: Any) -> None:
        """Add an event to the transcript."""
        self.entries.append(TranscriptEntry(kind, {"text": text, **data}))


class ChatSession(ChatTotals):
    """A :class:`~brigade.planner.ChatClient` for one episode.

    Args:
        model: The backend.
        ledger: Where calls are accounted (and the budget checked before each).
        params: Sampling parameters; their ``seed`` is replaced per query.
        episode_seed: The episode's seed.
        run: The run's id (for the ledger).
        episode: The episode's id (for the ledger).
    """

    def __init__(
        self,
        model: ChatModel,
        ledger: Ledger,
        *,
        params: SamplingParams | None = None,
        episode_seed: int = 0,
        run: str = "",
        episode: str = "",
    ):
        super().__init__()
        self.model = model
        self.ledger = ledger
        self.params = params or SamplingParams()
        self.episode_seed = episode_seed
        self.run = run
        self.episode = episode
        self._lock = threading.Lock()

    def ask(
        self, messages: Sequence[Message], *, agent: str | None = None, purpose: str = "plan"
    ) -> str:
        """One query (see :class:`~brigade.planner.ChatClient`)."""
        self.ledger.check_budget()
        with self._lock:
            index = self.queries
            self.queries += 1
        params = self.params
        try:
            completion = self.model.complete(
                messages,
                temperature=params.temperature,
                max_tokens=params.max_tokens,
                stop=params.stop,
                seed=query_seed(self.episode_seed, index),
                top_p=params.top_p,
            )
        except InputError as exc:
            # The backend refused the request (HTTP 400/422, a prompt longer than
            # the context): the episode cannot go on, but it is not the planner's
            # mistake, so it is reported as the server's failure.
            raise ServerError(f"the backend refused the request: {exc}") from exc
        entry = self.ledger.record(
            completion,
            model=self.model.model,
            run=self.run,
            episode=self.episode,
            agent=agent or "",
            purpose=purpose,
        )
        with self._lock:
            self.retries += completion.retries
            self.tokens_in += completion.usage.tokens_in
            self.tokens_out += completion.usage.tokens_out
            self.cost_usd += entry.cost_usd
        self.entries.append(
            TranscriptEntry(
                "query",
                {
                    "index": index,
                    "agent": agent,
                    "purpose": purpose,
                    "messages": [{"role": m.role, "content": m.content} for m in messages],
                    "reply": completion.text,
                    "tokens_in": completion.usage.tokens_in,
                    "tokens_out": completion.usage.tokens_out,
                    "latency_s": completion.latency_s,
                    "cached": completion.cached,
                    "retries": completion.retries,
                },
            )
        )
        return completion.text
