"""Joint plans (one action per agent) and the outcome of executing one."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from brigade.action import Action
from brigade.errors import PlanError

Waypoint = tuple[float, ...]


def format_path(points: Iterable[Waypoint]) -> str:
    """The canonical text of waypoints: ``PATH [(x, y, z), ...]`` (exact: floats' repr)."""
    texts = ("(" + ", ".join(repr(float(v)) for v in point) + ")" for point in points)
    return "PATH [" + ", ".join(texts) + "]"


@dataclass(frozen=True)
class JointPlan:
    """One :class:`Action` per agent, plus optional per-agent waypoint paths.

    Attributes:
        actions: The agents' actions, in the environment's agent order.
        paths: Optional waypoints per agent name (RoCo-style ``PATH [(x,y,z), ...]``).
    """

    actions: tuple[Action, ...]
    # Left out of the hash (a dict is not hashable); equality still compares it.
    paths: Mapping[str, tuple[Waypoint, ...]] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.actions, tuple):
            object.__setattr__(self, "actions", tuple(self.actions))
        counts = Counter(a.agent for a in self.actions)
        duplicates = sorted(n for n, c in counts.items() if c > 1)
        if duplicates:
            raise PlanError(f"a joint plan has one action per agent; repeated: {duplicates}")
        unknown = sorted(set(self.paths) - set(counts))
        if unknown:
            raise PlanError(f"paths given for agents without an action: {unknown}")

    @classmethod
    def of(cls, actions: Iterable[Action]) -> JointPlan:
        """Build a plan from actions (convenience for ``JointPlan(tuple(actions))``)."""
        return cls(tuple(actions))

    def for_agent(self, agent: str) -> Action:
        """Return the action of ``agent``.

        Raises:
            PlanError: The plan has no action for that agent.
        """
        for action in self.actions:
            if action.agent == agent:
                return action
        raise PlanError(f"the plan has no action for {agent!r}")

    @property
    def agents(self) -> tuple[str, ...]:
        """The agents the plan covers, in order."""
        return tuple(a.agent for a in self.actions)

    def to_text(self) -> str:
        """The canonical text form: one ``NAME .. ACTION ..`` line per agent (and its PATH)."""
        return "\n".join(
            a.to_text() + (f" {format_path(self.paths[a.agent])}" if a.agent in self.paths else "")
            for a in self.actions
        )

    def check_agents(self, agents: Iterable[str]) -> None:
        """Raise :class:`PlanError` unless the plan names exactly ``agents``, in that order."""
        expected = tuple(agents)
        if self.agents != expected:
            missing = [a for a in expected if a not in self.agents]
            extra = [a for a in self.agents if a not in expected]
            detail = []
            if missing:
                detail.append(f"missing {missing}")
            if extra:
                detail.append(f"unknown {extra}")
            if not detail:
                detail.append(f"order {list(self.agents)}")
            raise PlanError(
                f"a plan must give one action to each of {list(expected)} in that order; "
                + ", ".join(detail)
            )


@dataclass(frozen=True)
class Outcome:
    """What executing one joint plan did.

    Termination and truncation are kept apart: ``terminated`` means the task
    reached a terminal state (success or an unrecoverable failure), ``truncated``
    means a limit (steps, horizon) cut the episode short. A return computed over
    a truncated episode must bootstrap, not treat the cut as terminal.

    Attributes:
        reward: The task reward earned by the plan.
        terminated: The task reached a terminal state.
        truncated: A step or time limit ended the episode.
        success: The task's success condition holds after the plan.
        steps: Low-level simulator steps the plan used.
        feedback: Per-agent or environment feedback in words (what failed and why).
        frames: Rendered frames, shape (T, H, W, 3) uint8, when frames were asked for.
        info: Extra scalar information (counts, per-agent rewards).
    """

    reward: float
    terminated: bool
    truncated: bool
    success: bool
    steps: int
    feedback: tuple[str, ...] = ()
    frames: np.ndarray | None = None
    info: Mapping[str, float | int | str | bool] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        """True when the episode ended, by termination or truncation."""
        return self.terminated or self.truncated
