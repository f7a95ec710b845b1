"""Central Plan: one LLM plans every agent's action from the global state.

Each step it sees the whole description and the full history (past plans and
what they did), and physical verification feedback makes it re-plan before
anything moves.
"""

from __future__ import annotations

from dataclasses import dataclass

from brigade.agents.prompts import History, Template
from brigade.agents.templates import CENTRAL_ROLE, JOINT_FORMAT
from brigade.chat import Message
from brigade.plan import JointPlan, Outcome
from brigade.planner import ChatClient
from brigade.planners.llm_base import LLMPlanner, LLMPlannerConfig, outcome_text
from brigade.planners.registry import PLANNERS
from brigade.task_env import PlannerView


@dataclass
class CentralConfig(LLMPlannerConfig):
    """Central Plan's settings (those of every LLM planner)."""


@PLANNERS.register("central", config=CentralConfig, description="Central Plan baseline")
class CentralPlanner(LLMPlanner):
    """Central Plan (see the module docstring)."""

    name = "central"

    def __init__(self, config: CentralConfig | None = None):
        super().__init__(config or CentralConfig())

    def reset(self, view: PlannerView, chat: ChatClient | None, *, seed: int) -> None:
        """Start an episode with an empty history."""
        super().reset(view, chat, seed=seed)
        self.history = History(self.config.history_tokens)

    def templates(self) -> list[Template]:
        """The templates used."""
        return [*super().templates(), CENTRAL_ROLE]

    def plan(self, view: PlannerView) -> JointPlan:
        """Ask for the next joint plan."""
        system = "\n\n".join(
            [
                CENTRAL_ROLE.render(),
                self.rules.render(),
                JOINT_FORMAT.render(agents=", ".join(self.agents)),
            ]
        )
        parts = [self.history.render(), "The current state:\n" + view.describe()]
        parts.append("Plan the next step for every agent.")
        messages = [Message("system", system), Message("user", "\n\n".join(p for p in parts if p))]
        self._last_plan = self.verified(view, messages)
        return self._last_plan

    def observe(self, plan: JointPlan, outcome: Outcome) -> None:
        """Remember the plan and what it did."""
        step = self.history.added + 1
        actions = "; ".join(a.to_text() for a in plan.actions)
        self.history.add(f"Step {step}: {actions} -> {outcome_text(outcome)}")
