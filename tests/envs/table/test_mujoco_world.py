"""Every level's scene builds in MuJoCo, rests still, and reads back as the task expects."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from brigade.envs.table.mujoco_urdf import urdf_for_mujoco
from brigade.envs.table.mujoco_world import MujocoWorld
from brigade.envs.table.robots import MODELS
from brigade.envs.table.tasks import make_table_task

#: One level of each family and robot set-up, plus the largest scenes.
SCENES = ["table/sort-3", "table/sweep-y3g3", "table/sandwich-recipe4", "table/sweep-y1g1"]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_each_arm_keeps_all_its_mesh_faces(name: str) -> None:
    # MuJoCo reads only the first object of an OBJ file; the rewrite must keep all.
    model = mujoco.MjSpec.from_string(urdf_for_mujoco(MODELS[name])).compile()
    faces = int(model.mesh_facenum.sum())
    assert faces > {"panda": 20_000, "xarm6": 5_000, "iiwa": 5_000}[name]
    joints = [model.joint(i).name for i in range(model.njnt)]
    assert set(MODELS[name].arm_joints) <= set(joints)


@pytest.mark.parametrize("task_id", SCENES)
def test_the_scene_rests_still_with_no_arm_touching_anything(task_id: str) -> None:
    task = make_table_task(task_id)
    world = MujocoWorld(task.scene)
    before = world.read_state()
    world.step(500)  # one second
    after = world.read_state()
    for body in before.bodies:
        drift = np.linalg.norm(
            np.subtract(after.bodies[body].position, before.bodies[body].position)
        )
        assert drift < 1e-3, f"{body} moved {drift * 1000:.2f} mm at rest"
    for arm in world.arms.values():
        error = np.abs(world.data.qpos[arm.qpos] - np.array(arm.model.home)).max()
        assert error < 1e-3, f"{arm.name} drifts {error:.4f} rad from its rest pose"
    arm_bodies = {i for i in range(world.model.nbody) if "/" in world.model.body(i).name}
    for contact in world.data.contact[: world.data.ncon]:
        pair = {world.model.geom_bodyid[contact.geom1], world.model.geom_bodyid[contact.geom2]}
        assert not pair & arm_bodies, [world.model.body(b).name for b in pair]
