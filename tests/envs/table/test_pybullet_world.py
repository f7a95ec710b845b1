"""The PyBullet backend builds every level like MuJoCo does, holds still, grasps, and replays."""

from __future__ import annotations

import mujoco
import numpy as np
import pybullet as pb
import pytest

from brigade.envs.table.mujoco_world import MujocoWorld
from brigade.envs.table.parts import TOOL_PARTS
from brigade.envs.table.pybullet_world import PybulletWorld
from brigade.envs.table.state import Pose, Quaternion
from brigade.envs.table.tasks import make_table_task

#: One level of each family and robot set-up, plus the largest scenes.
SCENES = ["table/sort-3", "table/sweep-y3g3", "table/sandwich-recipe4", "table/sweep-y1g1"]
#: The tool pointing straight down: half a turn about x.
DOWN: Quaternion = (0.0, 1.0, 0.0, 0.0)


def ik(
    world: PybulletWorld, arm: str, position: tuple[float, float, float], quaternion: Quaternion
) -> np.ndarray:
    """Arm joints that put the tool frame at a pose, by PyBullet's IK (the arm is put back)."""
    index = world.arms[arm]
    client = world.client
    movable = [
        j
        for j in range(client.getNumJoints(index.body))
        if client.getJointInfo(index.body, j)[2] != pb.JOINT_FIXED
    ]
    saved = [state[:2] for state in client.getJointStates(index.body, movable)]
    w, x, y, z = quaternion
    for _ in range(20):  # restarting from the last answer refines it
        solution = client.calculateInverseKinematics(
            index.body, index.tool, position, [x, y, z, w], maxNumIterations=200,
            residualThreshold=1e-7,
        )  # fmt: skip
        for joint, q in zip(movable, solution):
            client.resetJointState(index.body, joint, q)
    reached = client.getLinkState(index.body, index.tool, computeForwardKinematics=True)[4]
    assert np.linalg.norm(np.subtract(reached, position)) < 1e-4
    for joint, (q, qd) in zip(movable, saved):
        client.resetJointState(index.body, joint, q, qd)
    return np.array([solution[movable.index(j)] for j in index.joints])


def move(world: PybulletWorld, arm: str, goal: np.ndarray, seconds: float) -> None:
    """A minimum-jerk joint trajectory from the current target to ``goal``."""
    start = world.arms[arm].target.copy()
    steps = round(seconds / world.timestep)
    for k in range(1, steps + 1):
        s = k / steps
        s = 10 * s**3 - 15 * s**4 + 6 * s**5
        world.command_arm(arm, start + s * (goal - start))
        world.step()


def held_at(world: PybulletWorld, arm: str, body: str) -> np.ndarray:
    """Where ``body`` is in the arm's tool frame."""
    return world.tool_pose(arm).to_local(world.body_pose(body).position)


def same_pose(a: Pose, b: Pose) -> None:
    """Positions within 2 mm, orientations within 1e-3 (a quaternion and its negative agree)."""
    assert np.linalg.norm(np.subtract(a.position, b.position)) < 2e-3, (a, b)
    sign = 1.0 if np.dot(a.quaternion, b.quaternion) >= 0 else -1.0
    np.testing.assert_allclose(a.quaternion, sign * np.array(b.quaternion), atol=1e-3)


def state_vector(world: PybulletWorld) -> np.ndarray:
    values: list[float] = []
    for body in world.scene.movable:
        pose = world.body_pose(body.name)
        values += [*pose.position, *pose.quaternion]
    for arm in world.agents:
        values += list(world.arm_q(arm))
    return np.array(values)


@pytest.mark.parametrize("task_id", SCENES)
def test_the_scene_rests_still_with_no_arm_touching_anything(task_id: str) -> None:
    world = PybulletWorld(make_table_task(task_id).scene)
    before = world.read_state()
    world.step(500)  # one second
    after = world.read_state()
    assert world.time == pytest.approx(1.0)
    for body in before.bodies:
        drift = np.linalg.norm(
            np.subtract(after.bodies[body].position, before.bodies[body].position)
        )
        assert drift < 1e-3, f"{body} moved {drift * 1000:.2f} mm at rest"
    for name, arm in world.arms.items():
        error = np.abs(world.arm_q(name) - np.array(arm.model.home)).max()
        assert error < 1e-3, f"{name} drifts {error:.4f} rad from its rest pose"
        contacts = world.client.getContactPoints(bodyA=arm.body)
        assert not contacts, [(name, c[3], c[2], c[4]) for c in contacts]


@pytest.mark.parametrize("task_id", ["table/sort-3", "table/sweep-y1g1", "table/sandwich-recipe1"])
def test_tool_poses_agree_with_mujoco(task_id: str) -> None:
    scene = make_table_task(task_id).scene
    ours, theirs = PybulletWorld(scene), MujocoWorld(scene)
    rng = np.random.default_rng(7)
    for trial in range(5):
        for arm in ours.agents:
            index = ours.arms[arm]
            q = np.array(index.model.home)
            if trial:
                q = np.clip(q + rng.uniform(-0.6, 0.6, q.size), index.lower, index.upper)
            for joint, value in zip(index.joints, q):
                ours.client.resetJointState(index.body, joint, value)
            theirs.data.qpos[theirs.arms[arm].qpos] = q
        mujoco.mj_kinematics(theirs.model, theirs.data)
        for arm in ours.agents:
            same_pose(ours.tool_pose(arm), theirs.tool_pose(arm))
            # Every part of the tool sits where MuJoCo puts its geom.
            index = ours.arms[arm]
            for part in TOOL_PARTS.get(scene.arm(arm).tool, ()):
                link = next(
                    j
                    for j in range(ours.client.getNumJoints(index.body))
                    if ours.client.getJointInfo(index.body, j)[12].decode() == part.name
                )
                state = ours.client.getLinkState(index.body, link, computeForwardKinematics=True)
                x, y, z, w = state[5]
                geom = theirs.model.geom(f"{arm}/{part.name}").id
                quaternion = np.empty(4)
                mujoco.mju_mat2Quat(quaternion, theirs.data.geom_xmat[geom])
                same_pose(
                    Pose(tuple(state[4]), (w, x, y, z)),
                    Pose(tuple(theirs.data.geom_xpos[geom]), tuple(quaternion)),
                )


@pytest.mark.parametrize("task_id", ["table/sort-3", "table/sandwich-recipe1"])
def test_the_servos_lag_like_mujocos_and_settle_a_step(task_id: str) -> None:
    scene = make_table_task(task_id).scene
    ours, theirs = PybulletWorld(scene), MujocoWorld(scene)
    for arm in ours.agents:
        # MuJoCo's servo trails a moving target by kv / kp seconds; ours by timestep / gain.
        actuators = theirs.arms[arm].actuators
        lag = (
            -theirs.model.actuator_biasprm[actuators, 2]
            / theirs.model.actuator_gainprm[actuators, 0]
        )
        np.testing.assert_allclose(ours.timestep / np.array(ours.arms[arm].gains), lag, rtol=1e-2)
    targets = {}
    for arm in ours.agents:
        index = ours.arms[arm]
        targets[arm] = np.clip(np.array(index.model.home) + 0.3, index.lower, index.upper)
        ours.command_arm(arm, targets[arm])
    # The Panda's wrist (kp 150) is the slowest: 1.33 s to 1 mrad here, 1.31 s in MuJoCo.
    ours.step(700)
    for arm, target in targets.items():
        error = np.abs(ours.arm_q(arm) - target).max()
        assert error < 1e-3, f"{arm} is {error:.4f} rad off 1.4 s after a 0.3 rad step"


@pytest.mark.parametrize(("arm", "cube"), [("Alice", "pink_cube"), ("Bob", "blue_cube")])
def test_a_gripper_closes_on_a_cube_and_lifts_it_without_slipping(arm: str, cube: str) -> None:
    # Alice is a Panda, Bob an xArm6, each above a cube on its panel.
    world = PybulletWorld(make_table_task("table/sort-3").scene)
    x, y, z = world.body_pose(cube).position
    down = world.tool_pose(arm).quaternion
    grasp = ik(world, arm, (x, y, z), down)
    lifted = ik(world, arm, (x, y, z + 0.1), down)
    move(world, arm, grasp, 1.5)
    world.step(300)
    assert world.grasped(arm) is None
    world.command_gripper(arm, True)
    world.step(250)
    assert world.grasped(arm) == cube
    before, height = held_at(world, arm, cube), world.body_pose(cube).position[2]
    move(world, arm, lifted, 1.0)
    world.step(250)
    assert world.grasped(arm) == cube
    assert world.body_pose(cube).position[2] - height > 0.095
    slip = np.linalg.norm(held_at(world, arm, cube) - before)
    assert slip < 1e-3, f"the cube slipped {slip * 1000:.2f} mm"
    world.command_gripper(arm, False)
    world.step(300)
    assert world.grasped(arm) is None
    assert world.body_pose(cube).position[2] < z + 0.005  # dropped back onto its panel


def test_suction_attaches_only_what_touches_the_cup_and_carries_it() -> None:
    world = PybulletWorld(make_table_task("table/sandwich-recipe1").scene)
    arm, food = "Chad", "ham"
    assert world.suction(arm, True) is None  # nothing near the cup at rest
    x, y, z = world.body_pose(food).position
    top = z + world.scene.body(food).half_height
    above = ik(world, arm, (x, y, top + 0.1), DOWN)
    near = ik(world, arm, (x, y, top + 0.01), DOWN)
    touching = ik(world, arm, (x, y, top + 0.001), DOWN)
    move(world, arm, above, 1.0)
    move(world, arm, near, 0.5)
    world.step(300)
    assert world.suction(arm, True) is None  # a centimetre away
    assert world.grasped(arm) is None
    move(world, arm, touching, 0.3)
    world.step(300)
    start = world.body_pose(food).position
    assert world.suction(arm, True) == food
    assert world.grasped(arm) == food
    world.step(1)
    assert np.linalg.norm(np.subtract(world.body_pose(food).position, start)) < 1e-4  # no jump
    before = held_at(world, arm, food)
    move(world, arm, above, 1.0)
    world.step(100)
    assert world.body_pose(food).position[2] - start[2] > 0.095
    assert np.linalg.norm(held_at(world, arm, food) - before) < 5e-4
    assert world.suction(arm, False) is None
    assert world.grasped(arm) is None
    world.step(500)
    assert world.body_pose(food).position[2] == pytest.approx(start[2], abs=2e-3)
    with pytest.raises(ValueError, match="no gripper"):
        world.command_gripper(arm, True)


def test_only_the_right_tools_take_the_right_commands() -> None:
    world = PybulletWorld(make_table_task("table/sort-3").scene)
    with pytest.raises(ValueError, match="no suction cup"):
        world.suction("Alice", True)
    with pytest.raises(KeyError):
        world.place_bodies({"panel1": Pose((0.0, 0.0, 0.1))})


def test_a_snapshot_replays_exactly_while_a_cube_is_being_lifted() -> None:
    world = PybulletWorld(make_table_task("table/sort-3").scene)
    arm, cube = "Alice", "pink_cube"
    x, y, z = world.body_pose(cube).position
    down = world.tool_pose(arm).quaternion
    grasp, lifted = ik(world, arm, (x, y, z), down), ik(world, arm, (x, y, z + 0.1), down)
    move(world, arm, grasp, 1.0)
    world.step(200)
    world.command_gripper(arm, True)
    world.step(150)
    snapshot, time = world.snapshot(), world.time

    def lift() -> np.ndarray:
        move(world, arm, lifted, 0.4)  # 200 steps, the cube in the fingers
        return state_vector(world)

    first = lift()
    world.restore(snapshot)
    assert world.time == time
    assert world.grasped(arm) == cube
    np.testing.assert_array_equal(lift(), first)
    # Another world of the same scene takes the snapshot too.
    other = PybulletWorld(world.scene)
    other.restore(snapshot)
    move(other, arm, lifted, 0.4)
    np.testing.assert_array_equal(state_vector(other), first)
    with pytest.raises(ValueError, match="another scene"):
        PybulletWorld(make_table_task("table/sweep-y1g1").scene).restore(snapshot)


def test_a_snapshot_keeps_a_suction_attachment() -> None:
    world = PybulletWorld(make_table_task("table/sandwich-recipe1").scene)
    arm, food = "Chad", "ham"
    x, y, z = world.body_pose(food).position
    top = z + world.scene.body(food).half_height
    touching = ik(world, arm, (x, y, top + 0.001), DOWN)
    above = ik(world, arm, (x, y, top + 0.1), DOWN)
    move(world, arm, touching, 1.2)
    world.step(300)
    assert world.suction(arm, True) == food
    snapshot = world.snapshot()
    move(world, arm, above, 0.4)
    first = state_vector(world)
    world.suction(arm, False)
    world.restore(snapshot)
    assert world.grasped(arm) == food
    move(world, arm, above, 0.4)
    np.testing.assert_array_equal(state_vector(world), first)


def test_home_returns_to_the_start_and_worlds_are_independent() -> None:
    scene = make_table_task("table/sort-3").scene
    world, bystander = PybulletWorld(scene), PybulletWorld(scene)
    start = state_vector(world)
    world.command_gripper("Bob", True)
    world.command_arm("Alice", world.arm_q("Alice") + 0.2)
    world.place_bodies({"blue_cube": Pose((0.1, -0.2, 0.1))})
    world.step(200)
    assert not np.allclose(state_vector(world), start)
    np.testing.assert_array_equal(state_vector(bystander), start)
    world.home()
    assert world.time == 0.0
    np.testing.assert_array_equal(state_vector(world), start)
    world.step(100)
    bystander.step(100)
    np.testing.assert_array_equal(state_vector(world), state_vector(bystander))


@pytest.mark.parametrize("camera", ["front", "top"])
def test_render_draws_the_scene(camera: str) -> None:
    world = PybulletWorld(make_table_task("table/sort-3").scene)
    image = world.render(camera, width=160, height=120)
    assert image.shape == (120, 160, 3)
    assert image.dtype == np.uint8
    assert image.std() > 20  # table, arms, panels and floor, not a blank frame
    # The table's colour fills the middle of both views.
    table = np.array([0.72, 0.6, 0.45]) * 255
    middle = image[50:70, 60:100].reshape(-1, 3).astype(float)
    assert (np.linalg.norm(middle - table, axis=1) < 60).mean() > 0.3
    with pytest.raises(KeyError):
        world.render("side")
