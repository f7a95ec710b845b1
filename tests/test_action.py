from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from brigade import Action, ActionParseError, JointPlan, Outcome, PlanError

names = st.from_regex(r"[A-Za-z][A-Za-z0-9_\-]{0,10}", fullmatch=True)
verbs = st.from_regex(r"[A-Z][A-Z_]{0,8}", fullmatch=True)
args = st.lists(st.from_regex(r"[A-Za-z0-9(),_.\-]{1,10}", fullmatch=True), max_size=3)


@given(names, verbs, args)
def test_text_form_round_trips(name: str, verb: str, arguments: list[str]) -> None:
    action = Action(name, verb, tuple(arguments))
    assert Action.parse(action.to_text()) == action
    assert action.to_text().startswith(f"NAME {name} ACTION {verb}")


@given(st.text(max_size=60))
def test_parse_never_crashes_on_junk(line: str) -> None:
    try:
        action = Action.parse(line)
    except ActionParseError as exc:
        assert exc.reason
    else:
        assert action.to_text().split() == [
            t if i != 3 else t.upper() for i, t in enumerate(line.split())
        ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("", "empty"),
        ("Bob PICK onion", "starts with 'NAME"),
        ("NAME", "name is missing"),
        ("NAME Bob PICK onion", "expected 'ACTION"),
        ("NAME Bob ACTION", "verb is missing"),
        ("NAME Bob ACTION p1ck", "not a verb"),
        ("NAME 9ob ACTION PICK", "not a valid agent name"),
    ],
)
def test_parse_explains_why(line: str, reason: str) -> None:
    with pytest.raises(ActionParseError, match=reason):
        Action.parse(line)


def test_lower_case_verbs_are_accepted() -> None:
    assert Action.parse("NAME Bob ACTION pick onion") == Action("Bob", "PICK", ("onion",))


def test_joint_plan_checks_agents() -> None:
    plan = JointPlan.of([Action("Alice", "WAIT"), Action("Bob", "PICK", ("onion",))])
    assert plan.agents == ("Alice", "Bob")
    assert plan.for_agent("Bob").verb == "PICK"
    plan.check_agents(["Alice", "Bob"])
    with pytest.raises(PlanError, match="missing"):
        plan.check_agents(["Alice", "Bob", "Chad"])
    with pytest.raises(PlanError, match="order"):
        plan.check_agents(["Bob", "Alice"])
    with pytest.raises(PlanError, match="repeated"):
        JointPlan.of([Action("Alice", "WAIT"), Action("Alice", "WAIT")])
    with pytest.raises(PlanError, match="paths"):
        JointPlan((Action("Alice", "WAIT"),), {"Bob": ((0.0, 0.0, 0.0),)})


def test_outcome_keeps_termination_and_truncation_apart() -> None:
    ended = Outcome(reward=1.0, terminated=True, truncated=False, success=True, steps=3)
    cut = Outcome(reward=0.0, terminated=False, truncated=True, success=False, steps=3)
    running = Outcome(reward=0.0, terminated=False, truncated=False, success=False, steps=3)
    assert ended.done and cut.done and not running.done
    assert ended.terminated != cut.terminated


def test_plans_are_hashable() -> None:
    a = JointPlan.of([Action("Alice", "WAIT"), Action("Bob", "SERVE")])
    b = JointPlan.of([Action("Alice", "WAIT"), Action("Bob", "SERVE")])
    assert hash(a) == hash(b) and len({a, b}) == 1
