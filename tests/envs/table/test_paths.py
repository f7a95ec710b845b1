"""LLM waypoints (RoCo's ``PATH``) on the table: checked like goals, then followed in lines."""

from __future__ import annotations

import math

import pytest

from brigade import envs
from brigade.action import Action
from brigade.agents.parsing import parse_answer
from brigade.envs.table.skills import execute
from brigade.envs.table.task_env import TableTaskEnv
from brigade.plan import JointPlan

PICKS = (
    Action("Alice", "PICK", ("blue_cube",)),
    Action("Bob", "PICK", ("pink_cube",)),
    Action("Chad", "PICK", ("yellow_cube",)),
)


@pytest.fixture
def env() -> TableTaskEnv:
    made = envs.make_task("table/sort-1")
    made.reset(0)
    return made  # type: ignore[return-value]


def test_the_tool_passes_through_the_waypoints_and_the_action_still_works(
    env: TableTaskEnv,
) -> None:
    waypoints = ((-0.45, 0.1, 0.35), (-0.55, 0.05, 0.25))
    plan = JointPlan(PICKS, {"Alice": waypoints})
    assert env.verify(plan) == []
    intents = [env.task.intent(a, env.state) for a in plan.actions]
    compiled = env.compiler.compile(plan, env.world, intents)
    visited: list[tuple[float, float, float]] = []
    execute(
        compiled,
        env.world,
        on_tick=lambda: visited.append(env.world.tool_pose("Alice").position),
        frame_every=1,
    )
    for point in waypoints:
        # (within the servos' tracking lag of the corner)
        assert min(math.dist(point, p) for p in visited) < 0.02
    assert env.world.grasped("Alice") == "blue_cube"


def test_a_plan_with_a_path_is_one_environment_step(env: TableTaskEnv) -> None:
    text = (
        "EXECUTE\n"
        "NAME Alice ACTION PICK blue_cube PATH [(-0.45, 0.1, 0.35), (-0.55, 0.05, 0.25)]\n"
        "NAME Bob ACTION PICK pink_cube\n"
        "NAME Chad ACTION PICK yellow_cube"
    )
    outcome = env.execute(parse_answer(text, env.agents).plan())
    assert outcome.info["verified"], outcome.feedback
    assert env.state.held["Alice"] == "blue_cube"


@pytest.mark.parametrize(
    ("agent", "path", "problem"),
    [
        ("Alice", ((0.5, 0.0, 0.3),), "Alice cannot reach PATH waypoint 1 (0.50, 0.00, 0.30)"),
        ("Alice", ((-0.5, 0.0, 0.9),), "Alice cannot reach PATH waypoint 1"),
        (
            "Alice",
            ((-0.6, 0.2, 0.3), (-0.2, -0.2, 0.3)),
            "Alice's PATH waypoints 1 and 2 are 0.57 m apart; at most 0.30",
        ),
    ],
)
def test_waypoints_out_of_reach_or_far_apart_fail_before_any_planning(
    env: TableTaskEnv, agent: str, path: tuple, problem: str
) -> None:
    before = env.snapshot()
    problems = env.verify(JointPlan(PICKS, {agent: path}))
    assert any(problem in p for p in problems), problems
    assert env.snapshot() == before


def test_a_path_needs_an_action_that_travels(env: TableTaskEnv) -> None:
    plan = JointPlan((Action("Alice", "WAIT"), *PICKS[1:]), {"Alice": ((-0.5, 0.0, 0.3),)})
    assert env.verify(plan) == ["Alice: a PATH needs an action that moves the arm"]


def test_a_waypoint_inside_another_arm_is_a_named_collision(env: TableTaskEnv) -> None:
    # Bob's tool rests at (0, 0.06, 0.24): Alice's PATH runs through his gripper.
    plan = JointPlan(PICKS, {"Bob": ((-0.1, 0.05, 0.3),), "Alice": ((-0.15, 0.05, 0.3),)})
    problems = env.verify(plan)
    assert problems and "collision between" in problems[0], problems
