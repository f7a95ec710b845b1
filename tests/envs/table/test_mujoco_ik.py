"""IK puts an arm's tool where it was asked, and moves nothing else."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from brigade.envs.table.mujoco_ik import ArmIK
from brigade.envs.table.mujoco_world import MujocoWorld
from brigade.envs.table.tasks import make_table_task
from brigade.envs.table.tasks.sort import REACH, panel_center

#: The tool pointing straight down: half a turn about x.
DOWN = (0.0, 1.0, 0.0, 0.0)


@pytest.fixture(scope="module")
def world() -> MujocoWorld:
    return MujocoWorld(make_table_task("table/sort-3").scene)


@pytest.mark.parametrize("arm", ["Alice", "Bob", "Chad"])
def test_the_tool_reaches_above_every_panel_of_its_arm_pointing_down(
    world: MujocoWorld, arm: str
) -> None:
    ik = ArmIK(world)
    before = world.data.qpos.copy()
    for panel in REACH[arm]:
        x, y = panel_center(panel)
        target = (x, y, 0.08)
        solution = ik.solve(arm, target, DOWN)
        assert solution.converged, (arm, panel, solution)
        np.testing.assert_array_equal(world.data.qpos, before)  # solving moves nothing
        data = mujoco.MjData(world.model)
        data.qpos[:] = before
        data.qpos[world.arms[arm].qpos] = solution.q
        mujoco.mj_kinematics(world.model, data)
        site = world.arms[arm].tool_site
        assert np.linalg.norm(data.site_xpos[site] - target) < 1e-3
        # The tool's z axis points down.
        assert data.site_xmat[site].reshape(3, 3)[2, 2] < -0.99
        others = np.setdiff1d(np.arange(world.model.nq), world.arms[arm].qpos)
        np.testing.assert_array_equal(data.qpos[others], before[others])


def test_an_unreachable_target_is_reported_not_faked(world: MujocoWorld) -> None:
    solution = ArmIK(world).solve("Alice", (0.6, -0.4, 0.05), DOWN, max_iterations=30)
    assert not solution.converged
    assert solution.position_error > 0.05
