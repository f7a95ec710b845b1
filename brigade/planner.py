"""The planner interface: one joint plan per environment step.

A planner sees only the read-only :class:`~brigade.task_env.PlannerView` and talks
to its LLM through a :class:`ChatClient`, which counts every query (NQ),
records the transcript and enforces the run's budget. The episode runner owns
the environment, executes the plans and reports the outcomes back.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Protocol

from brigade.chat import Message
from brigade.plan import JointPlan, Outcome
from brigade.task_env import PlannerView


class ChatClient(Protocol):
    """What a planner uses to talk to its LLM during one episode."""

    def ask(
        self, messages: Sequence[Message], *, agent: str | None = None, purpose: str = "plan"
    ) -> str:
        """Send one request and return the reply's text (one query, counted in NQ).

        Args:
            messages: The conversation.
            agent: The agent the query speaks for, if any (for per-agent ledgers).
            purpose: What the query is for: ``plan``, ``reask`` (unreadable reply),
                ``replan`` (after feedback), ``dialog``, ``reflect``...

        Raises:
            InfrastructureError: The backend failed after its retries, or the budget is spent.
        """
        ...

    def note(self, kind: str, text: str, **data: Any) -> None:
        """Add an entry to the episode's transcript (feedback, scores, decisions)."""
        ...


class Planner(ABC):
    """Decides one joint plan per environment step.

    Attributes:
        name: The registered name (``central``, ``roco``...).
        needs_llm: The planner talks to an LLM (the runner gives it a chat client).
    """

    name: ClassVar[str] = ""
    needs_llm: ClassVar[bool] = True

    @abstractmethod
    def reset(self, view: PlannerView, chat: ChatClient | None, *, seed: int) -> None:
        """Start an episode on ``view``."""

    @abstractmethod
    def plan(self, view: PlannerView) -> JointPlan:
        """The joint plan to execute now.

        Raises:
            ParseFailure: The LLM's replies stayed unreadable after the bounded re-asks.
            InfrastructureError: The chat backend failed or the budget is spent.
        """

    def observe(self, plan: JointPlan, outcome: Outcome) -> None:  # noqa: B027 (optional hook)
        """Learn what executing ``plan`` did (execution feedback, rewards)."""

    def prompt_versions(self) -> dict[str, str]:
        """The version of each prompt template the planner uses (recorded per episode)."""
        return {}

    def stats(self) -> dict[str, int | float]:
        """Counters worth recording with the episode (history rounds dropped...)."""
        return {}
