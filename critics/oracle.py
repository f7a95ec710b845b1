"""The oracle critic: true advantages from rollouts of snapshots (the ceiling of ReAd).

For evaluation only: it holds the environment itself (``snapshot``,
``restore``, ``execute``) and its scripted expert, which no planner may see.
``Q(s, a)`` is the discounted return (the critics' ``progress`` reward: points
of task progress) of executing ``a`` and then following the expert to the
episode's end; the agents a proposal leaves out act as the expert would.
ReAd-J's baseline is the expert's own plan, so the expert's choice scores 0
and anything worse scores below it; ReAd-S compares with the prefix alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from brigade.action import Action
from brigade.critic import AdvantageCritic, CriticState, Scores
from brigade.critics.returns import PROGRESS_POINTS
from brigade.plan import JointPlan
from brigade.task_env import TaskEnv


class OracleCritic(AdvantageCritic):
    """Advantages from expert rollouts of snapshots (see the module docstring)."""

    kind = "oracle"

    def __init__(self, env: TaskEnv, expert_plan: Callable[[], JointPlan], gamma: float = 0.9):
        self.env = env
        self.expert_plan = expert_plan
        self.gamma = gamma
        self.rollouts = 0

    def describe(self) -> dict[str, Any]:
        """Kind, discount and baseline."""
        return {"kind": self.kind, "gamma": self.gamma, "baseline": "expert"}

    def q(self, partial: dict[str, Action]) -> float:
        """The return of ``partial`` (the others as the expert would), then the expert's."""
        env = self.env
        saved = env.snapshot()
        try:
            self.rollouts += 1
            expert = self.expert_plan()
            plan = JointPlan(tuple(partial.get(a.agent, a) for a in expert.actions))
            total, discount = 0.0, 1.0
            progress = env.progress()
            while True:
                outcome = env.execute(plan)
                now = env.progress()
                total += discount * PROGRESS_POINTS * (now - progress)
                progress, discount = now, discount * self.gamma
                if outcome.done:
                    return total
                plan = self.expert_plan()
        finally:
            env.restore(saved)

    def score_sequential(
        self, state: CriticState, before: Sequence[Action], candidates: Sequence[Action]
    ) -> Scores:
        """``Q(s, before + c) - Q(s, before)``, the rest acting as the expert."""
        prefix = {a.agent: a for a in before}
        base = self.q(prefix)
        values = [self.q({**prefix, c.agent: c}) for c in candidates]
        return Scores(np.asarray(values) - base, None, {"baseline": "expert", "q_before": base})

    def score_joint(self, state: CriticState, plans: Sequence[JointPlan]) -> Scores:
        """``Q(s, a) - Q(s, the expert's plan)``."""
        base = self.q({})
        values = [self.q({a.agent: a for a in plan.actions}) for plan in plans]
        return Scores(np.asarray(values) - base, None, {"baseline": "expert", "q_baseline": base})
