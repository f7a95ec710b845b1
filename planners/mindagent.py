"""MindAgent: a central coordinator that dispatches tasks to the agents.

After the MindAgent paper (CuisineWorld): one LLM sees the global state and
each agent's situation, keeps the full history of its dispatches and of the
feedback each agent reported, and assigns every agent a task so that no two
agents do the same thing. Physical verification makes it re-dispatch before
anything moves.
"""

from __future__ import annotations

from dataclasses import dataclass

from brigade.agents.prompts import History, Template
from brigade.agents.templates import JOINT_FORMAT, MINDAGENT_ROLE
from brigade.chat import Message
from brigade.plan import JointPlan, Outcome
from brigade.planner import ChatClient
from brigade.planners.llm_base import LLMPlanner, LLMPlannerConfig
from brigade.planners.registry import PLANNERS
from brigade.task_env import PlannerView


@dataclass
class MindAgentConfig(LLMPlannerConfig):
    """MindAgent's settings (those of every LLM planner)."""


@PLANNERS.register("mindagent", config=MindAgentConfig, description="MindAgent baseline")
class MindAgentPlanner(LLMPlanner):
    """MindAgent (see the module docstring)."""

    name = "mindagent"

    def __init__(self, config: MindAgentConfig | None = None):
        super().__init__(config or MindAgentConfig())

    def reset(self, view: PlannerView, chat: ChatClient | None, *, seed: int) -> None:
        """Start an episode with an empty dispatch history."""
        super().reset(view, chat, seed=seed)
        self.history = History(self.config.history_tokens)

    def templates(self) -> list[Template]:
        """The templates used."""
        return [*super().templates(), MINDAGENT_ROLE]

    def plan(self, view: PlannerView) -> JointPlan:
        """Dispatch the next task of every agent."""
        system = "\n\n".join(
            [
                MINDAGENT_ROLE.render(),
                self.rules.render(),
                JOINT_FORMAT.render(agents=", ".join(self.agents)),
            ]
        )
        parts = [
            self.history.render("Your dispatches and the agents' reports so far"),
            "The current state:\n" + view.describe(),
            "Dispatch the next task of every agent.",
        ]
        messages = [Message("system", system), Message("user", "\n\n".join(p for p in parts if p))]
        return self.verified(view, messages)

    def observe(self, plan: JointPlan, outcome: Outcome) -> None:
        """Record each agent's dispatch and the feedback that names it."""
        lines = []
        for action in plan.actions:
            reports = [fb for fb in outcome.feedback if fb.startswith(action.agent)]
            status = "; ".join(reports) if reports else "no problem reported"
            lines.append(f"  {action.agent}: {action.command} -> {status}")
        others = [fb for fb in outcome.feedback if not any(fb.startswith(a) for a in self.agents)]
        step = self.history.added + 1
        text = f"Step {step} (reward {outcome.reward:g}):\n" + "\n".join(lines)
        if others:
            text += "\n  " + "; ".join(others)
        self.history.add(text)
