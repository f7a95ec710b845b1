"""The table's low-level API: joint and tool-frame control, on both engines."""

from __future__ import annotations

import numpy as np
import pytest

from brigade.envs.table.parallel_env import EE_DELTA, TableParallelEnv
from brigade.errors import ConfigError, InputError
from brigade.testing.parallel_conformance import check_parallel_env


def still(env: TableParallelEnv) -> dict[str, np.ndarray]:
    actions = {}
    for agent in env.agents:
        action = np.zeros(env.action_space(agent).shape, dtype=np.float32)
        if env._effector[agent]:
            action[-1] = -1.0  # gripper open
        actions[agent] = action
    return actions


def test_tool_frame_control_moves_the_tool_where_it_is_told() -> None:
    env = TableParallelEnv("sort-1", control="ee")
    env.reset(seed=0)
    start = np.array(env.world.tool_pose("Alice").position)
    for _ in range(10):
        actions = still(env)
        actions["Alice"][:3] = (0.0, 0.0, -1.0)  # down
        env.step(actions)
    for _ in range(20):
        env.step(still(env))
    moved = np.array(env.world.tool_pose("Alice").position) - start
    assert moved[2] == pytest.approx(-10 * EE_DELTA, abs=0.01)
    assert np.abs(moved[:2]).max() < 0.01


def test_joint_control_changes_the_targets_by_the_scaled_action() -> None:
    env = TableParallelEnv("sandwich-recipe1", control="joint")
    observations, _ = env.reset(seed=0)
    before = env.world.arm_q("Chad")
    actions = still(env)
    actions["Chad"][0] = 1.0
    for _ in range(20):
        observations, *_ = env.step(actions)
        actions["Chad"][0] = 0.0
    assert env.world.arm_q("Chad")[0] - before[0] == pytest.approx(0.05, abs=0.01)
    assert observations["Chad"].shape == env.observation_space("Chad").shape


def test_bad_actions_and_settings_are_refused_with_the_agent_named() -> None:
    env = TableParallelEnv("sort-1")
    env.reset(seed=0)
    actions = still(env)
    actions["Bob"] = np.full(env.action_space("Bob").shape, 2.0, dtype=np.float32)
    with pytest.raises(InputError, match="Bob's action"):
        env.step(actions)
    with pytest.raises(InputError, match="no action for"):
        env.step({})
    with pytest.raises(ConfigError, match="control"):
        TableParallelEnv("sort-1", control="torque")


def test_pettingzoo_conformance_on_pybullet() -> None:
    check_parallel_env(
        lambda: TableParallelEnv("sort-1", backend="pybullet", horizon=30), num_cycles=40
    )
