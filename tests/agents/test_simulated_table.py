"""The simulated LLM at the table: it reads the state from the prompt's words and
coordinates alone, follows the task's expert, and its mistakes are real ones."""

from __future__ import annotations

import pytest

from brigade import envs
from brigade.agents.parsing import parse_answer
from brigade.agents.simulated import SimConfig, SimulatedLLM
from brigade.agents.simulated.table import TableTasks
from brigade.agents.templates import JOINT_FORMAT, rules_for
from brigade.chat import Message
from brigade.envs.table.task_env import TableTaskEnv
from brigade.plan import JointPlan

PERFECT = SimConfig(
    base_error=0, per_extra_agent=0, per_remaining_step=0, format_error=0, all_wait=0
)
FIRST_LEVELS = ["table/sort-3", "table/sandwich-recipe2", "table/sweep-y1g2"]


@pytest.fixture(scope="module", params=FIRST_LEVELS)
def env(request: pytest.FixtureRequest) -> TableTaskEnv:
    made = envs.make_task(request.param)
    made.reset(0)
    return made  # type: ignore[return-value]


def test_the_state_read_from_the_prompt_is_the_physical_one(env: TableTaskEnv) -> None:
    reading = TableTasks().read("The current state:\n" + env.describe())
    assert reading is not None
    assert reading.task.task_id == env.task.task_id
    assert reading.task.key(reading.state) == env.task.key(env.state)
    assert reading.steps_left == env.step_limit
    # One agent's view (RoCo's dialog) still gives every position.
    solo = TableTasks().read(env.describe(env.agents[0]))
    assert solo is not None and solo.task.key(solo.state) == env.task.key(env.state)


def test_without_errors_it_answers_with_the_expert_plan(env: TableTaskEnv) -> None:
    system = (
        rules_for(env.env_id).render() + "\n\n" + JOINT_FORMAT.render(agents=", ".join(env.agents))
    )
    messages = [Message("system", system), Message("user", "The current state:\n" + env.describe())]
    reply = SimulatedLLM(PERFECT).complete(messages, seed=0)
    assert parse_answer(reply.text, env.agents).plan() == env.expert_plan()


def test_its_infeasible_and_nonexistent_actions_fail_verification(env: TableTaskEnv) -> None:
    tasks = TableTasks()
    reading = tasks.read(env.describe())
    assert reading is not None
    expert = tasks.expert_plan(reading)
    for agent in env.agents:
        options = tasks.mistakes(reading, agent, expert)
        assert options["nonexistent"]
        for kind in ("infeasible", "nonexistent"):
            for wrong in options.get(kind, [])[:5]:
                plan = JointPlan(tuple(wrong if a == agent else expert[a] for a in env.agents))
                assert env.verify(plan), f"{kind}: {plan.to_text()}"


def test_the_expert_needs_fewer_steps_as_the_task_advances() -> None:
    env = envs.make_task("table/sort-2")
    env.reset(0)
    tasks = TableTasks()
    before = tasks.read(env.describe())
    assert before is not None
    env.execute(env.expert_plan())
    after = tasks.read(env.describe())
    assert after is not None
    assert tasks.remaining_steps(after, 20) == tasks.remaining_steps(before, 20) - 1


def test_other_text_is_not_read_as_a_table() -> None:
    tasks = TableTasks()
    assert tasks.read('Kitchen "cramped_room" at time step 3') is None
    assert tasks.read("[Task] Sort Cubes, level 9. ...") is None
    assert tasks.read("[Task] Sort Cubes, level 1. No coordinates here.") is None


def test_feedback_on_a_plan_gets_another_plan_for_the_same_table() -> None:
    env = envs.make_task("table/sort-2")
    env.reset(0)
    system = (
        rules_for(env.env_id).render() + "\n\n" + JOINT_FORMAT.render(agents=", ".join(env.agents))
    )
    messages = [
        Message("system", system),
        Message("user", "The current state:\n" + env.describe()),
        Message(
            "assistant",
            "EXECUTE\nNAME Alice ACTION WAIT\nNAME Bob ACTION WAIT\nNAME Chad ACTION WAIT",
        ),
        Message("user", "Your plan cannot be executed:\n- you can't all WAIT\nAnswer again."),
    ]
    reply = SimulatedLLM(PERFECT).complete(messages, seed=0)
    assert parse_answer(reply.text, env.agents).plan() == env.expert_plan()


def test_the_reading_follows_a_whole_episode_stack_and_all() -> None:
    # Thin foods stacked: the coordinates must be precise enough to tell a stack.
    env = envs.make_task("table/sandwich-recipe1")
    env.reset(1)
    tasks = TableTasks()
    while True:
        reading = tasks.read(env.describe())
        assert reading is not None
        assert reading.task.key(reading.state) == env.task.key(env.state)  # type: ignore[attr-defined]
        if env.execute(env.expert_plan()).done:
            break
