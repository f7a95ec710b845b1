"""The advantage-critic interface (ReAd): how much a proposed action helps.

A critic scores proposals before they cost an environment step:

- :meth:`AdvantageCritic.score_sequential` (ReAd-S): the advantage of each
  candidate action of one agent, given the actions already chosen by the
  agents before it in the planning order;
- :meth:`AdvantageCritic.score_joint` (ReAd-J): the advantage of each
  candidate joint plan.

Both take a :class:`CriticState` (what the critic may know of the state: the
environment's feature vector and each agent's short text snippet, both from
the planner's read-only view) and score many candidates at once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from brigade.action import Action
from brigade.plan import JointPlan
from brigade.task_env import PlannerView


@dataclass(frozen=True)
class CriticState:
    """What a critic knows of the current state.

    Attributes:
        agents: The agents, in planning order.
        features: The environment's feature vector (float32).
        snippets: One short text per agent, in ``agents`` order.
    """

    agents: tuple[str, ...]
    features: np.ndarray
    snippets: tuple[str, ...]

    @classmethod
    def from_view(cls, view: PlannerView) -> CriticState:
        """Read the state from a planner's view."""
        snippets = view.agent_snippets()
        return cls(
            view.agents,
            np.asarray(view.features(), dtype=np.float32),
            tuple(snippets.get(a, a) for a in view.agents),
        )


@dataclass(frozen=True)
class Scores:
    """Advantages of candidates, with the critic's uncertainty where it has one.

    Attributes:
        advantage: One advantage per candidate.
        uncertainty: One standard deviation per candidate (an ensemble's
            disagreement), or ``None``.
        info: What else the critic reports (its baseline, the values it compared).
    """

    advantage: np.ndarray
    uncertainty: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)


class AdvantageCritic(ABC):
    """Scores actions by their advantage (see the module docstring)."""

    #: A short name (``learned``, ``random``, ``constant``, ``oracle``).
    kind: str = "critic"

    @abstractmethod
    def score_sequential(
        self, state: CriticState, before: Sequence[Action], candidates: Sequence[Action]
    ) -> Scores:
        """Advantages of ``candidates`` (one agent's actions) after the agents of ``before``.

        ``before`` holds the actions chosen by the agents earlier in the
        planning order; every candidate belongs to the next agent.
        """

    @abstractmethod
    def score_joint(self, state: CriticState, plans: Sequence[JointPlan]) -> Scores:
        """Advantages of whole joint plans."""

    def describe(self) -> dict[str, Any]:
        """What identifies this critic in records: its kind, and for learned ones the hash."""
        return {"kind": self.kind}
