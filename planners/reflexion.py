"""Reflexion: ReAct plus verbal self-reflection on failures.

When a step goes wrong (the environment reports a failure), the LLM is asked
to reflect in a sentence or two on what went wrong and what to do instead; the
reflections are kept as lessons in every later prompt. Each reflection is a
query and counts in NQ.
"""

from __future__ import annotations

from dataclasses import dataclass

from brigade.agents.prompts import History, Template
from brigade.agents.templates import REFLECT
from brigade.chat import Message
from brigade.plan import JointPlan, Outcome
from brigade.planner import ChatClient
from brigade.planners.llm_base import outcome_text
from brigade.planners.react import ReactConfig, ReactPlanner
from brigade.planners.registry import PLANNERS
from brigade.task_env import PlannerView


@dataclass
class ReflexionConfig(ReactConfig):
    """Reflexion's settings.

    Attributes:
        reflections_tokens: Token budget of the kept reflections.
    """

    reflections_tokens: int = 600


@PLANNERS.register("reflexion", config=ReflexionConfig, description="Reflexion baseline")
class ReflexionPlanner(ReactPlanner):
    """Reflexion (see the module docstring)."""

    name = "reflexion"
    config: ReflexionConfig

    def __init__(self, config: ReflexionConfig | None = None):
        super().__init__(config or ReflexionConfig())

    def reset(self, view: PlannerView, chat: ChatClient | None, *, seed: int) -> None:
        """Start an episode with no lessons."""
        super().reset(view, chat, seed=seed)
        self.lessons = History(self.config.reflections_tokens)

    def templates(self) -> list[Template]:
        """The templates used."""
        return [*super().templates(), REFLECT]

    def extra_sections(self) -> list[str]:
        """The lessons learnt so far."""
        return [self.lessons.render("Lessons from your earlier mistakes")]

    def observe(self, plan: JointPlan, outcome: Outcome) -> None:
        """Record the step; reflect when it reported a failure."""
        super().observe(plan, outcome)
        if not outcome.feedback or outcome.done:
            return  # nothing failed, or there is no next step to learn for
        assert self.chat is not None
        actions = "; ".join(a.to_text() for a in plan.actions)
        prompt = REFLECT.render(plan=actions, result=outcome_text(outcome))
        reply = self.chat.ask(
            [Message("system", self.system_prompt()), Message("user", prompt)], purpose="reflect"
        )
        self.lessons.add(" ".join(reply.split())[:400])
