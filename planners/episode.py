"""The pieces of one episode that every runner shares: its chat client and the expert.

The in-process runner (:mod:`brigade.planners.runner`), data collection
(:mod:`brigade.planners.collect`) and the planner node
(:mod:`brigade.planners.remote`) give a planner its chat and, for the ceiling
only, the scripted expert the same way, so an episode is the same wherever its
planner runs.
"""

from __future__ import annotations

from typing import Any

from brigade.agents.ledger import Ledger
from brigade.agents.session import ChatSession, ChatTotals
from brigade.chat import ChatModel, SamplingParams
from brigade.errors import ConfigError
from brigade.planner import Planner

__all__ = ["NoChat", "attach_expert", "episode_chat"]


class NoChat(ChatTotals):
    """The chat client of planners without an LLM: it only keeps the transcript."""

    def ask(self, *args: Any, **kwargs: Any) -> str:
        """Refuse: there is no chat model."""
        raise ConfigError("this planner has no chat model")


def episode_chat(
    planner: Planner,
    llm: ChatModel | None,
    ledger: Ledger,
    params: SamplingParams,
    *,
    seed: int,
    run: str = "",
    episode: str = "",
) -> ChatSession | NoChat:
    """The chat client of one episode: a session on ``llm``, or none for planners without one."""
    if not planner.needs_llm:
        return NoChat()
    assert llm is not None
    return ChatSession(llm, ledger, params=params, episode_seed=seed, run=run, episode=episode)


def attach_expert(planner: Planner, env: Any) -> None:
    """Give the environment's expert to the planner that asks for it (the ceiling) only."""
    expert_plan = getattr(env, "expert_plan", None)
    if getattr(planner, "needs_expert", False) and callable(expert_plan):
        planner.attach_expert(expert_plan)  # type: ignore[attr-defined]
