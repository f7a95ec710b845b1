"""ReAct: reasoning and acting interleaved.

Each step the LLM writes a ``Thought`` (its reasoning) and then the joint
action; after the step it gets an ``Observation`` (what the step did, the
environment's feedback). The whole Thought/Action/Observation trajectory is
kept (within a token budget), the state is global, and physical verification
makes it re-plan before anything moves.
"""

from __future__ import annotations

from dataclasses import dataclass

from brigade.agents.prompts import History, Template
from brigade.agents.templates import JOINT_FORMAT, REACT_ROLE
from brigade.chat import Message
from brigade.plan import JointPlan, Outcome
from brigade.planner import ChatClient
from brigade.planners.llm_base import LLMPlanner, LLMPlannerConfig, outcome_text
from brigade.planners.registry import PLANNERS
from brigade.task_env import PlannerView


@dataclass
class ReactConfig(LLMPlannerConfig):
    """ReAct's settings (those of every LLM planner)."""


@PLANNERS.register("react", config=ReactConfig, description="ReAct baseline")
class ReactPlanner(LLMPlanner):
    """ReAct (see the module docstring)."""

    name = "react"

    def __init__(self, config: ReactConfig | None = None):
        super().__init__(config or ReactConfig())

    def reset(self, view: PlannerView, chat: ChatClient | None, *, seed: int) -> None:
        """Start an episode with an empty trajectory."""
        super().reset(view, chat, seed=seed)
        self.trajectory = History(self.config.history_tokens)
        self._thought = ""

    def templates(self) -> list[Template]:
        """The templates used."""
        return [*super().templates(), REACT_ROLE]

    def system_prompt(self) -> str:
        """Role, rules and answer format."""
        return "\n\n".join(
            [
                REACT_ROLE.render(),
                self.rules.render(),
                JOINT_FORMAT.render(agents=", ".join(self.agents)),
            ]
        )

    def extra_sections(self) -> list[str]:
        """Sections subclasses add before the state (Reflexion's lessons)."""
        return []

    def plan(self, view: PlannerView) -> JointPlan:
        """Ask for the next Thought and joint action."""
        parts = [
            self.trajectory.render("Your trajectory so far"),
            *self.extra_sections(),
            "The current state:\n" + view.describe(),
            "Next Thought and joint action.",
        ]
        messages = [
            Message("system", self.system_prompt()),
            Message("user", "\n\n".join(p for p in parts if p)),
        ]
        plan = self.verified(view, messages)
        self._thought = self.last_answer.reasoning if self.last_answer else ""
        return plan

    def observe(self, plan: JointPlan, outcome: Outcome) -> None:
        """Add the Thought, Action and Observation of the step."""
        thought = " ".join(self._thought.split()) or "(none)"
        if thought.lower().startswith("thought:"):
            thought = thought[len("thought:") :].strip()
        actions = "; ".join(a.to_text() for a in plan.actions)
        self.trajectory.add(
            f"Thought: {thought}\nAction: {actions}\nObservation: {outcome_text(outcome)}"
        )
