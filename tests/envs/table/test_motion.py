"""Trajectories stay on their paths; planned motions avoid collisions and name them."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from brigade.envs.table.motion import MotionFailure, MotionPlanner, ToolTarget
from brigade.envs.table.planning_scene import PlanningScene
from brigade.envs.table.skills import DOWN
from brigade.envs.table.tasks import make_table_task
from brigade.envs.table.tasks.sort import panel_center
from brigade.envs.table.trajectory import MAX_VELOCITY, time_path

PERIOD = 0.01


@settings(max_examples=40, deadline=None)
@given(
    arrays(np.float64, st.tuples(st.integers(2, 5), st.integers(1, 7)), elements=st.floats(-2, 2)),
    st.booleans(),
)
def test_timed_paths_start_and_end_on_the_waypoints_within_the_velocity_limit(
    waypoints: np.ndarray, dense: bool
) -> None:
    samples = time_path(waypoints, PERIOD, dense=dense)
    assert np.array_equal(samples[-1], waypoints[-1])
    steps = np.diff(np.vstack([waypoints[:1], samples]), axis=0)
    assert np.abs(steps).max() <= MAX_VELOCITY * PERIOD * 1.01 + 1e-9


def test_a_sparse_path_passes_through_every_waypoint() -> None:
    waypoints = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    samples = time_path(waypoints, PERIOD)
    distances = np.linalg.norm(samples - waypoints[1], axis=1)
    assert distances.min() < 1e-9  # it comes to the corner, not around it
    # Every sample lies on one of the two segments.
    on_first = np.isclose(samples[:, 1], 0.0)
    on_second = np.isclose(samples[:, 0], 1.0)
    assert np.all(on_first | on_second)


def test_bad_waypoints_are_refused() -> None:
    with pytest.raises(ValueError, match="waypoints"):
        time_path(np.zeros(3), PERIOD)


@pytest.fixture(scope="module")
def planner() -> MotionPlanner:
    return MotionPlanner(PlanningScene(make_table_task("table/sort-3").scene))


def _above_panel(k: int, height: float = 0.12) -> ToolTarget:
    x, y = panel_center(k)
    return ToolTarget((x, y, height), DOWN)


def test_ik_puts_the_tool_on_target(planner: MotionPlanner) -> None:
    q = planner.solve("Alice", _above_panel(2))
    planner.scene.set_q({"Alice": q})
    assert np.allclose(planner.scene.tool_position("Alice"), _above_panel(2).position, atol=2e-3)
    planner.scene.set_q({"Alice": np.array(planner.scene.arms["Alice"].model.home)})


def test_unreachable_targets_are_reported_in_words(planner: MotionPlanner) -> None:
    with pytest.raises(MotionFailure, match=r"Alice cannot put its tool at \(0.70"):
        planner.solve("Alice", ToolTarget((0.7, -0.45, 0.02), DOWN))


def test_two_arms_at_one_place_collide_and_the_pair_is_named(planner: MotionPlanner) -> None:
    alice = planner.solve("Alice", _above_panel(3, 0.1))
    bob = planner.solve("Bob", _above_panel(3, 0.1))
    collisions = planner.check({"Alice": alice, "Bob": bob}, allow=())
    assert any({c.group1, c.group2} == {"Alice", "Bob"} for c in collisions)
    with pytest.raises(MotionFailure, match=r"collision between Alice .* and Bob"):
        planner.free_path({"Alice": alice, "Bob": bob}, allow=(), what="test")
    home = planner.scene.arms
    planner.scene.set_q({a: np.array(home[a].model.home) for a in ("Alice", "Bob")})


def test_free_paths_are_collision_free_and_repeatable(planner: MotionPlanner) -> None:
    goals = {
        "Alice": planner.solve("Alice", _above_panel(3, 0.08)),
        "Bob": planner.solve("Bob", _above_panel(5, 0.08)),
    }
    first = planner.free_path(goals, allow=(), what="test", seed=7)
    again = planner.free_path(goals, allow=(), what="test", seed=7)
    assert np.array_equal(first, again)
    assert np.allclose(first[-1], np.concatenate([goals["Alice"], goals["Bob"]]))
    samples = time_path(first, PERIOD)
    sizes = [len(goals["Alice"]), len(goals["Bob"])]
    for row in samples[::5]:
        alice, bob = np.split(row, [sizes[0]])
        assert not planner.check({"Alice": alice, "Bob": bob}, allow=())
