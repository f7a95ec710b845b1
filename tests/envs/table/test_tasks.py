"""The table tasks without physics: rules, words, progress and the scripted expert."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brigade.action import Action
from brigade.envs.table.state import TableState
from brigade.envs.table.tasks import LEVELS, TableTask, make_table_task
from brigade.plan import JointPlan

IDS = list(LEVELS)


def expert_trajectory(task: TableTask) -> list[TableState]:
    state = task.initial_state()
    states = [state]
    while not task.success(state) and len(states) <= task.step_limit:
        plan = task.expert_plan(state)
        assert task.rule_problems(plan, state) == [], plan.to_text()
        assert task.reach_problems(plan, state) == [], plan.to_text()
        state = task.ideal_step(plan, state)
        states.append(state)
    return states


def test_every_dv_rocobench_level_is_registered() -> None:
    assert len(IDS) == 14
    assert {i.split("/")[1].rsplit("-", 1)[0] for i in IDS} == {
        *(f"sweep-{lv}" for lv in ("y1g1", "y1g2", "y2g2", "y2g3", "y3g3")),
        *(f"sandwich-recipe{k}" for k in range(1, 5)),
        *(f"sort-{k}" for k in range(1, 6)),
    }
    assert make_table_task("table/sort-3").task_id == "table/sort-3-v0"
    with pytest.raises(KeyError, match="known"):
        make_table_task("table/sort-9")


@pytest.mark.parametrize("task_id", IDS)
def test_the_expert_finishes_every_level_within_the_step_limit(task_id: str) -> None:
    task = make_table_task(task_id)
    assert task.step_limit == 15
    states = expert_trajectory(task)
    assert task.success(states[-1]), task.state_text(states[-1])
    assert len(states) - 1 <= task.step_limit
    progress = [task.progress(s) for s in states]
    assert progress[0] < 0.5
    assert progress[-1] == 1.0
    assert all(p < 1.0 for p in progress[:-1])
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(progress)), progress


def test_harder_levels_take_the_expert_more_steps() -> None:
    for family in ("sweep", "sandwich", "sort"):
        steps = [len(expert_trajectory(make_table_task(i))) - 1 for i in IDS if f"/{family}-" in i]
        assert steps == sorted(steps), (family, steps)


@pytest.mark.parametrize("task_id", IDS)
def test_descriptions_name_every_movable_body_and_each_agent(task_id: str) -> None:
    task = make_table_task(task_id)
    state = task.initial_state()
    text = task.describe(state)
    for body in task.scene.movable:
        assert body.name in text
    for agent in task.agents:
        assert agent in text
        assert agent in task.snippet(state, agent)
        own = task.describe(state, agent)
        assert task.snippet(state, agent) in own
        for other in task.agents:
            if other != agent:
                assert task.snippet(state, other) not in own


@pytest.mark.parametrize("task_id", IDS)
def test_every_legal_action_alone_passes_the_rules(task_id: str) -> None:
    task = make_table_task(task_id)
    for state in expert_trajectory(task):
        for agent in task.agents:
            actions = task.legal_actions(state, agent)
            assert Action(agent, "WAIT") in actions
            for action in actions:
                if action.verb == "WAIT":
                    continue
                plan = JointPlan(
                    tuple(action if a == agent else Action(a, "WAIT") for a in task.agents)
                )
                assert task.rule_problems(plan, state) == [], plan.to_text()


def waits(task: TableTask, **actions: Action) -> JointPlan:
    return JointPlan(tuple(actions.get(a, Action(a, "WAIT")) for a in task.agents))


def test_common_rules_say_what_is_wrong() -> None:
    task = make_table_task("table/sort-1")
    state = task.initial_state()
    assert task.rule_problems(waits(task), state) == [
        "you can't all WAIT: at least one robot must act"
    ]
    bad_verb = waits(task, Bob=Action("Bob", "SWEEP", ("pink_cube",)))
    assert "SWEEP is not an action here" in task.rule_problems(bad_verb, state)[0]
    arity = waits(task, Bob=Action("Bob", "PICK"))
    assert "takes 1 argument" in task.rule_problems(arity, state)[0]


def test_sort_rules() -> None:
    task = make_table_task("table/sort-1")  # blue on 1, pink on 3, yellow on 7
    state = task.initial_state()
    far = waits(task, Alice=Action("Alice", "PICK", ("yellow_cube",)))
    assert task.rule_problems(far, state) == ["Alice cannot reach yellow_cube on panel7"]
    both = waits(
        task,
        Alice=Action("Alice", "PICK", ("pink_cube",)),
        Bob=Action("Bob", "PICK", ("pink_cube",)),
    )
    assert task.rule_problems(both, state) == ["Bob and Alice both PICK pink_cube"]
    state = task.ideal_step(waits(task, Alice=Action("Alice", "PICK", ("blue_cube",))), state)
    taken = waits(task, Alice=Action("Alice", "PLACE", ("panel3",)))
    assert task.rule_problems(taken, state) == ["panel3 is taken by pink_cube"]
    nowhere = waits(task, Alice=Action("Alice", "PLACE", ("panel9",)))
    assert "is not a panel" in task.rule_problems(nowhere, state)[0]


def test_sweep_rules() -> None:
    task = make_table_task("table/sweep-y1g1")
    state = task.initial_state()
    early = waits(task, Bob=Action("Bob", "SWEEP", ("yellow_cube1",)))
    assert task.rule_problems(early, state) == [
        "Bob's broom is not at yellow_cube1: MOVE there first",
        "Alice's dustpan is not at yellow_cube1: Alice must MOVE there first",
    ]
    both = JointPlan(
        (Action("Alice", "MOVE", ("yellow_cube1",)), Action("Bob", "MOVE", ("yellow_cube1",)))
    )
    state = task.ideal_step(both, state)
    assert task.tool_at(state, "Alice") == task.tool_at(state, "Bob") == "yellow_cube1"  # type: ignore[attr-defined]
    busy = JointPlan((Action("Alice", "DUMP"), Action("Bob", "SWEEP", ("yellow_cube1",))))
    assert task.rule_problems(busy, state) == [
        "Alice's dustpan is empty: nothing to DUMP",
        "Alice must WAIT while Bob SWEEPs",
    ]
    state = task.ideal_step(waits(task, Bob=Action("Bob", "SWEEP", ("yellow_cube1",))), state)
    assert task.progress(state) == pytest.approx(0.25)
    assert "yellow_cube1 is in the dustpan" in task.state_text(state)


def test_sandwich_rules() -> None:
    task = make_table_task("table/sandwich-recipe1")
    state = task.initial_state()
    far = waits(task, Chad=Action("Chad", "PICK", ("bread_slice1",)))
    assert task.rule_problems(far, state) == ["Chad cannot reach bread_slice1"]
    state = task.ideal_step(
        JointPlan((Action("Chad", "PICK", ("ham",)), Action("Dave", "PICK", ("bread_slice1",)))),
        state,
    )
    crowd = JointPlan(
        (
            Action("Chad", "PUT", ("ham", "cutting_board")),
            Action("Dave", "PUT", ("bread_slice1", "cutting_board")),
        )
    )
    assert task.rule_problems(crowd, state) == [
        "Chad and Dave cannot both PUT onto the cutting_board"
    ]
    wrong = waits(task, Dave=Action("Dave", "PUT", ("ham", "cutting_board")))
    assert task.rule_problems(wrong, state) == ["Dave cannot PUT ham: it holds bread_slice1"]
    state = task.ideal_step(
        waits(task, Dave=Action("Dave", "PUT", ("bread_slice1", "cutting_board"))), state
    )
    assert task.stack(state) == ["bread_slice1"]  # type: ignore[attr-defined]
    covered = waits(task, Dave=Action("Dave", "PICK", ("bread_slice1",)))
    assert task.rule_problems(covered, state) == []
    assert task.progress(state) == pytest.approx(1.5 / 3)  # bread down, ham in hand


@settings(max_examples=40, deadline=None)
@given(data=st.data(), task_id=st.sampled_from(IDS))
def test_random_legal_play_keeps_progress_in_range(data: st.DataObject, task_id: str) -> None:
    task = make_table_task(task_id)
    state = task.initial_state()
    for _ in range(8):
        actions = tuple(
            data.draw(st.sampled_from(task.legal_actions(state, a))) for a in task.agents
        )
        plan = JointPlan(actions)
        if task.rule_problems(plan, state):
            continue
        state = task.ideal_step(plan, state)
        assert 0.0 <= task.progress(state) <= 1.0
        assert (task.progress(state) == 1.0) == task.success(state)
        task.describe(state)
