"""The ideal backend: plans that pass the rules come true exactly, fast, for critic data."""

from __future__ import annotations

import numpy as np
import pytest

from brigade import envs
from brigade.action import Action
from brigade.envs.table.ideal_world import IdealWorld
from brigade.envs.table.task_env import TableTaskEnv
from brigade.envs.table.tasks import LEVELS
from brigade.errors import BrigadeError, ConfigError
from brigade.plan import JointPlan
from brigade.testing.task_conformance import check_task_env


@pytest.mark.parametrize("env_id", list(LEVELS))
def test_the_expert_solves_every_level_in_the_symbolic_number_of_steps(env_id: str) -> None:
    env = envs.make_task(env_id, backend="ideal")
    env.reset(0)
    task = env.task  # type: ignore[attr-defined]
    state, expected = task.initial_state(), 0
    while not task.success(state):
        state = task.ideal_step(task.expert_plan(state), state)
        expected += 1
    steps = 0
    while True:
        outcome = env.execute(env.expert_plan())
        steps += 1
        if outcome.done:
            break
    assert outcome.success and steps == expected
    assert outcome.steps == 0 and outcome.info["sim_seconds"] == 0.0


def test_it_passes_the_task_env_conformance_checks() -> None:
    check_task_env(lambda: envs.make_task("table/sandwich-recipe1", backend="ideal"))


def test_arms_that_grasped_or_released_end_at_rest_with_what_they_hold() -> None:
    env = envs.make_task("table/sort-1", backend="ideal")
    physical = envs.make_task("table/sort-1")
    for made in (env, physical):
        made.reset(0)
        made.execute(made.expert_plan())
    state = env.state  # type: ignore[attr-defined]
    for agent in env.agents:
        held = state.held[agent]
        assert held is not None
        assert state.tools[agent].position == state.position(held)
    # Where the physics has them too (the critic reads these features).
    np.testing.assert_allclose(env.features(), physical.features(), atol=0.005)


def test_snapshots_restore_exactly_and_garbage_is_refused() -> None:
    env = envs.make_task("table/sweep-y1g1", backend="ideal")
    env.reset(0)
    env.execute(env.expert_plan())
    saved = env.snapshot()
    features = env.features()
    env.execute(env.expert_plan())
    env.restore(saved)
    np.testing.assert_array_equal(env.features(), features)
    world = env.world  # type: ignore[attr-defined]
    assert isinstance(world, IdealWorld)
    with pytest.raises(BrigadeError, match="not a snapshot of an ideal table"):
        world.restore(b"{}")
    other = envs.make_task("table/sort-1", backend="ideal")
    with pytest.raises(BrigadeError, match="another table task"):
        other.world.restore(world.snapshot())  # type: ignore[attr-defined]


def test_rules_still_refuse_and_joints_do_not_exist() -> None:
    env = envs.make_task("table/sort-1", backend="ideal")
    env.reset(0)
    waits = JointPlan(tuple(Action(a, "WAIT") for a in env.agents))
    assert env.verify(waits) == ["you can't all WAIT: at least one robot must act"]
    with pytest.raises(BrigadeError, match="no joints"):
        env.world.arm_q("Alice")  # type: ignore[attr-defined]
    assert env.render().shape == (240, 640, 3)


def test_low_level_control_needs_physics() -> None:
    with pytest.raises(ConfigError, match="ideal"):
        envs.make("table/sort-1", backend="ideal")
    with pytest.raises(ConfigError, match="backend"):
        TableTaskEnv(task="sort-1", backend="bullet")
