"""Control critics for evaluation: scores that carry no information.

With these in the refinement loop, ReAd must gain nothing over one proposal
per step (the simulated LLM redraws from the same error model when rejected,
so only a critic that tells good from bad helps):

- :class:`RandomCritic`: a standard normal draw per candidate (seeded per episode);
- :class:`ConstantCritic`: the same value for every candidate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from brigade.action import Action
from brigade.critic import AdvantageCritic, CriticState, Scores
from brigade.plan import JointPlan


class RandomCritic(AdvantageCritic):
    """Advantages drawn at random, ``scale`` times a standard normal."""

    kind = "random"

    def __init__(self, seed: int = 0, scale: float = 1.0):
        self.rng = np.random.default_rng(seed)
        self.scale = scale

    def describe(self) -> dict[str, Any]:
        """Kind and scale."""
        return {"kind": self.kind, "scale": self.scale, "baseline": "none"}

    def score_sequential(
        self, state: CriticState, before: Sequence[Action], candidates: Sequence[Action]
    ) -> Scores:
        """Random advantages."""
        return Scores(self.scale * self.rng.standard_normal(len(candidates)))

    def score_joint(self, state: CriticState, plans: Sequence[JointPlan]) -> Scores:
        """Random advantages."""
        return Scores(self.scale * self.rng.standard_normal(len(plans)))


class ConstantCritic(AdvantageCritic):
    """The same advantage, ``value``, for everything."""

    kind = "constant"

    def __init__(self, value: float = 0.0):
        self.value = value

    def describe(self) -> dict[str, Any]:
        """Kind and value."""
        return {"kind": self.kind, "value": self.value, "baseline": "none"}

    def score_sequential(
        self, state: CriticState, before: Sequence[Action], candidates: Sequence[Action]
    ) -> Scores:
        """The constant, for each candidate."""
        return Scores(np.full(len(candidates), self.value))

    def score_joint(self, state: CriticState, plans: Sequence[JointPlan]) -> Scores:
        """The constant, for each plan."""
        return Scores(np.full(len(plans), self.value))
