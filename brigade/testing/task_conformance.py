"""Conformance checks for :class:`~brigade.task_env.TaskEnv` implementations.

Run :func:`check_task_env` over any skill-level environment (brigade's own and
third parties'). Each failure says what the interface promises and how to fix
the implementation.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from brigade.action import Action
from brigade.errors import BrigadeError, PlanError
from brigade.plan import JointPlan, Outcome
from brigade.task_env import PlannerView, TaskEnv, wait_plan


def _fail(message: str) -> AssertionError:
    return AssertionError(message)


def check_agents(env: TaskEnv) -> None:
    """Agents are a non-empty tuple of distinct names usable in action lines."""
    agents = env.agents
    if not isinstance(agents, tuple) or not agents:
        raise _fail("TaskEnv.agents must be a non-empty tuple of names")
    if len(set(agents)) != len(agents):
        raise _fail(f"agent names must be distinct, got {agents}")
    for name in agents:
        Action(name, "WAIT")  # raises if the name cannot appear in an action line


def check_reset_determinism(env_factory: Callable[[], TaskEnv], seed: int = 3) -> None:
    """The same seed gives the same start (description and features)."""
    a, b = env_factory(), env_factory()
    a.reset(seed)
    b.reset(seed)
    if a.describe() != b.describe():
        raise _fail(
            "reset(seed) must be deterministic: two envs reset with one seed describe differently"
        )
    if not np.array_equal(a.features(), b.features()):
        raise _fail("reset(seed) must be deterministic: features differ for the same seed")


def check_features(env: TaskEnv) -> np.ndarray:
    """Features are a finite 1-D float32 vector."""
    f = env.features()
    if not isinstance(f, np.ndarray) or f.ndim != 1 or f.dtype != np.float32:
        raise _fail(
            "features() must return a 1-D float32 array, got "
            f"{type(f).__name__} {getattr(f, 'dtype', '')}"
        )
    if not np.all(np.isfinite(f)):
        raise _fail("features() must be finite (no NaN or inf)")
    return f


def check_legal_actions(env: TaskEnv) -> None:
    """Each agent has legal actions, including WAIT, and each verifies when the others WAIT.

    The plan in which everyone WAITs is not required to verify.
    """
    for agent in env.agents:
        actions = env.legal_actions(agent)
        if not actions or not all(isinstance(a, Action) and a.agent == agent for a in actions):
            raise _fail(f"legal_actions({agent!r}) must return that agent's Actions")
        if not any(a.verb == "WAIT" for a in actions):
            raise _fail(f"legal_actions({agent!r}) must include WAIT (every agent can always wait)")
        for action in actions:
            if action.verb == "WAIT":
                continue  # everyone waiting: some tasks forbid it (RoCoBench: "you can't all WAIT")
            plan = JointPlan(tuple(action if a == agent else Action(a, "WAIT") for a in env.agents))
            problems = env.verify(plan)
            if problems:
                raise _fail(
                    f"legal action {action.to_text()!r} fails verification: {problems}; "
                    "legal_actions must list only what verify accepts"
                )


def check_verify_is_pure(env: TaskEnv) -> None:
    """verify() changes nothing and reports malformed plans in words."""
    before = env.snapshot()
    features = env.features()
    wrong = JointPlan((Action(env.agents[0], "WAIT"),)) if len(env.agents) > 1 else JointPlan(())
    problems = env.verify(wrong)
    if not problems or not all(isinstance(p, str) and p for p in problems):
        raise _fail("verify() must explain, in words, a plan that does not name every agent")
    bogus = JointPlan(tuple(Action(a, "FROBNICATE") for a in env.agents))
    if not env.verify(bogus):
        raise _fail("verify() must reject unknown verbs")
    if env.snapshot() != before or not np.array_equal(env.features(), features):
        raise _fail("verify() must not change the environment's state")
    try:
        env.execute(wrong)
    except PlanError:
        pass
    else:
        raise _fail("execute() must raise PlanError for a plan that does not name every agent")
    if env.snapshot() != before:
        raise _fail("a rejected execute() must not change the state")


def check_snapshot_restore(env: TaskEnv) -> None:
    """restore(snapshot()) returns to the same state, after steps were taken."""
    snap = env.snapshot()
    if not isinstance(snap, bytes):
        raise _fail("snapshot() must return bytes")
    description, features, steps = env.describe(), env.features(), env.step_count
    env.execute(wait_plan(env.agents))
    env.restore(snap)
    if env.describe() != description or not np.array_equal(env.features(), features):
        raise _fail("restore(snapshot()) must return exactly to the captured state")
    if env.step_count != steps:
        raise _fail("restore() must restore the step count too")


def check_execute(env: TaskEnv, max_steps: int = 200) -> None:
    """Executing WAIT plans runs to an ending with well-formed outcomes."""
    for _ in range(max_steps):
        before = env.step_count
        outcome = env.execute(wait_plan(env.agents))
        if not isinstance(outcome, Outcome):
            raise _fail("execute() must return an Outcome")
        if env.step_count != before + 1:
            raise _fail("each execute() is one environment step: step_count must grow by one")
        if outcome.terminated and outcome.truncated:
            raise _fail("an outcome is terminated or truncated, not both")
        if not 0.0 <= env.progress() <= 1.0:
            raise _fail(f"progress() must lie in [0, 1], got {env.progress()}")
        if outcome.done:
            try:
                env.execute(wait_plan(env.agents))
            except BrigadeError:
                return
            raise _fail("execute() after the episode ended must raise (call reset first)")
    limit = env.step_limit
    if limit is not None and limit <= max_steps:
        raise _fail(f"an episode of WAITs did not end within its step limit ({limit})")


def check_render(env: TaskEnv) -> None:
    """render() gives an RGB uint8 picture."""
    frame = env.render()
    if (
        not isinstance(frame, np.ndarray)
        or frame.ndim != 3
        or frame.shape[2] != 3
        or frame.dtype != np.uint8
    ):
        raise _fail("render() must return an (H, W, 3) uint8 RGB array")


def check_planner_view(env: TaskEnv) -> None:
    """The planner view exposes no ground truth."""
    view = env.planner_view()
    if not isinstance(view, PlannerView):
        raise _fail("planner_view() must return a PlannerView")
    for hidden in ("progress", "snapshot", "restore", "execute", "expert_plan", "expert"):
        if hasattr(view, hidden):
            raise _fail(f"a PlannerView must not expose {hidden}()")
    if view.describe() != env.describe():
        raise _fail("the planner view must describe the same state")


def check_task_env(env_factory: Callable[[], TaskEnv], seed: int = 0) -> None:
    """Run every TaskEnv conformance check on fresh environments from ``env_factory``."""
    env = env_factory()
    env.reset(seed)
    check_agents(env)
    check_reset_determinism(env_factory)
    check_features(env)
    check_legal_actions(env)
    check_verify_is_pure(env)
    check_planner_view(env)
    check_render(env)
    check_snapshot_restore(env)
    env.reset(seed)
    check_execute(env)
