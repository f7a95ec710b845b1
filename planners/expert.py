"""The scripted expert as a planner: the ceiling the LLM planners are measured against.

It is not a baseline and not an LLM planner: it reads the ground truth through
the environment's own expert, which the runner attaches (planners never get it
through their view).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from brigade.errors import ConfigError
from brigade.plan import JointPlan
from brigade.planner import ChatClient, Planner
from brigade.planners.registry import PLANNERS
from brigade.task_env import PlannerView


@dataclass
class ExpertConfig:
    """The expert has no settings."""


@PLANNERS.register("expert", config=ExpertConfig, description="the scripted expert (the ceiling)")
class ExpertPlanner(Planner):
    """Plays the environment's scripted expert."""

    name = "expert"
    needs_llm = False
    #: The runner attaches the environment's expert (ground truth, never via the view).
    needs_expert = True

    def __init__(self, config: ExpertConfig | None = None):
        self._expert: Callable[[], JointPlan] | None = None

    def attach_expert(self, expert_plan: Callable[[], JointPlan]) -> None:
        """Give the planner the environment's expert (done by the runner)."""
        self._expert = expert_plan

    def reset(self, view: PlannerView, chat: ChatClient | None, *, seed: int) -> None:
        """Nothing to reset."""

    def plan(self, view: PlannerView) -> JointPlan:
        """The expert's joint plan."""
        if self._expert is None:
            raise ConfigError(f"{view.env_id} offers no scripted expert", key="planner")
        return self._expert()
