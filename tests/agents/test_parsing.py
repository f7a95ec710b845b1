from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from brigade.action import Action
from brigade.agents.parsing import AnswerError, format_answer, parse_answer

AGENTS = ("Alice", "Bob", "Chad")
verbs = st.sampled_from(["PICK", "PUT", "WAIT", "MOVE", "SERVE"])
args = st.lists(st.from_regex(r"[a-z0-9(),]{1,8}", fullmatch=True), max_size=2)
prose = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80).filter(
    lambda t: "EXECUTE" not in t.upper() and "PROCEED" not in t.upper() and "NAME" not in t.upper()
)


@given(
    st.permutations(AGENTS), st.lists(st.tuples(verbs, args), min_size=3, max_size=3), prose, prose
)
def test_answers_round_trip_through_prose(
    order: list[str], acts: list, before: str, after: str
) -> None:
    actions = [Action(a, v, tuple(x)) for a, (v, x) in zip(order, acts)]
    text = f"{before}\n{format_answer(actions)}\n\n{after}"
    answer = parse_answer(text, AGENTS)
    assert answer.keyword == "EXECUTE"
    assert answer.actions == tuple(sorted(actions, key=lambda a: AGENTS.index(a.agent)))


@given(st.text(max_size=300))
def test_junk_never_crashes(text: str) -> None:
    try:
        parse_answer(text, AGENTS)
    except AnswerError as exc:
        assert exc.reason


def test_markdown_decoration_is_tolerated() -> None:
    text = """Let's think.
**EXECUTE**
- `NAME Alice ACTION PICK onion`
2. NAME Bob ACTION WAIT
* NAME Chad ACTION PUT pot1
That should work!"""
    answer = parse_answer(text, AGENTS)
    assert [a.command for a in answer.actions] == ["PICK onion", "WAIT", "PUT pot1"]
    assert answer.reasoning == "Let's think."


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Alice should pick an onion.", "no answer found"),
        ("NAME Alice ACTION WAIT\nNAME Bob ACTION WAIT", "must come after a line that says"),
        ("EXECUTE\nAlice: wait", "expected lines 'NAME <agent> ACTION <action>'"),
        ("EXECUTE\nNAME Alice ACTION WAIT\nNAME Bob ACTION WAIT", "no action for Chad"),
        ("EXECUTE\nNAME Dave ACTION WAIT", "'Dave' is not an agent"),
        ("EXECUTE\nNAME Alice ACTION WAIT\nNAME Alice ACTION PICK onion", "more than one action"),
        ("EXECUTE\nNAME Alice ACTION pick-up onion", "is not an action"),
        ("EXECUTE", "not followed by any"),
    ],
)
def test_refusals_say_why(text: str, reason: str) -> None:
    with pytest.raises(AnswerError, match=reason):
        parse_answer(text, AGENTS)


def test_proceed_needs_only_the_speaker() -> None:
    answer = parse_answer("I go.\nPROCEED\nNAME Bob ACTION PICK dish", AGENTS, require=("Bob",))
    assert answer.keyword == "PROCEED" and answer.for_agent("Bob").command == "PICK dish"
    with pytest.raises(AnswerError, match="not expected here"):
        parse_answer("PROCEED\nNAME Bob ACTION WAIT", AGENTS, expect=("EXECUTE",))
    with pytest.raises(AnswerError, match="no action for Bob"):
        parse_answer("PROCEED\nNAME Alice ACTION WAIT", AGENTS, require=("Bob",))


def test_the_last_keyword_wins() -> None:
    text = "First idea:\nEXECUTE\nNAME Alice ACTION WAIT\nBetter:\nEXECUTE\n" + "\n".join(
        f"NAME {a} ACTION PICK onion" for a in AGENTS
    )
    assert all(a.verb == "PICK" for a in parse_answer(text, AGENTS).actions)


def test_a_repeated_keyword_or_closing_word_after_the_answer_is_prose() -> None:
    lines = "\n".join(f"NAME {a} ACTION WAIT." for a in AGENTS)
    answer = parse_answer(f"EXECUTE\n{lines}\nEXECUTE.\nName the plan: waiting.", AGENTS)
    assert [a.command for a in answer.actions] == ["WAIT"] * 3
    turn = parse_answer("PROCEED\nNAME Bob ACTION PICK dish\nProceed.", AGENTS, require=("Bob",))
    assert turn.for_agent("Bob").command == "PICK dish"


coordinate = st.floats(min_value=-2.0, max_value=2.0, allow_nan=False)
waypoints = st.lists(st.tuples(coordinate, coordinate, coordinate), min_size=1, max_size=5)


@given(waypoints, waypoints)
def test_paths_round_trip_exactly(alice: list, chad: list) -> None:
    actions = [Action("Alice", "MOVE", ("cube",)), Action("Bob", "WAIT"), Action("Chad", "DUMP")]
    paths = {"Alice": tuple(alice), "Chad": tuple(chad)}
    answer = parse_answer(format_answer(actions, paths=paths), AGENTS)
    assert answer.actions == tuple(actions)
    assert dict(answer.paths) == paths
    plan = answer.plan()
    assert plan.paths == paths
    # The plan's own text reads back to the same plan.
    assert parse_answer("EXECUTE\n" + plan.to_text(), AGENTS).plan() == plan


def test_roco_style_paths_are_read() -> None:
    text = """We go around Bob.
EXECUTE
NAME Alice ACTION PICK cube1 PATH [(0.1, 0.2, 0.3), (0.15, 0.2, 0.3)]
NAME Bob ACTION WAIT
**NAME Chad ACTION PICK cube2 PATH: ((0, -0.1, 0.25), (0, -0.2, 0.2))**.
"""
    answer = parse_answer(text, AGENTS)
    assert answer.paths == {
        "Alice": ((0.1, 0.2, 0.3), (0.15, 0.2, 0.3)),
        "Chad": ((0.0, -0.1, 0.25), (0.0, -0.2, 0.2)),
    }
    assert answer.for_agent("Alice") == Action("Alice", "PICK", ("cube1",))


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("[(0.1, 0.2)]", "waypoint 1 must be three finite numbers"),
        ("[(0.1, 0.2, 'x')]", "waypoint 1 must be three finite numbers"),
        ("[(0.1, 0.2, 0.3), (1e999, 0, 0)]", "waypoint 2 must be three finite numbers"),
        ("[(True, 0, 0)]", "waypoint 1 must be three finite numbers"),
        ("[]", "non-empty list"),
        ("somewhere over there", "must be a list of (x, y, z) points"),
        ("__import__('os').system('true')", "must be a list of (x, y, z) points"),
        ("[" + "(0, 0, 0), " * 17 + "]", "at most 16"),
    ],
)
def test_bad_paths_are_refused_with_the_reason(path: str, reason: str) -> None:
    text = (
        f"EXECUTE\nNAME Alice ACTION MOVE cube PATH {path}\n"
        "NAME Bob ACTION WAIT\nNAME Chad ACTION WAIT"
    )
    with pytest.raises(AnswerError, match="Alice's PATH") as caught:
        parse_answer(text, AGENTS)
    assert reason in caught.value.reason


def test_a_lower_case_path_is_an_argument_not_a_keyword() -> None:
    text = "EXECUTE\nNAME Alice ACTION FOLLOW path\nNAME Bob ACTION WAIT\nNAME Chad ACTION WAIT"
    answer = parse_answer(text, AGENTS)
    assert answer.for_agent("Alice").args == ("path",) and not answer.paths
