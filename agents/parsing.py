"""Reading an LLM's answer into actions.

The answer format (REFERENCE.md, after RoCo and ReAd): any reasoning, then a
line ``EXECUTE`` (a joint plan) or ``PROCEED`` (one agent's turn in a
sequential dialog), then one line per agent::

    Bob should fetch the dish while Alice starts the pot.
    EXECUTE
    NAME Alice ACTION START pot1
    NAME Bob ACTION PICK dish

An arm's line may end with RoCo's optional waypoints for its tool,
``PATH [(x, y, z), ...]`` in metres; they ride on the plan
(:attr:`brigade.plan.JointPlan.paths`) for the environment to check and use.

The parser tolerates prose before and after the answer, Markdown decoration
(bold, bullets, numbering, code fences) and agents in any order; it is strict
about everything that decides the plan: the keyword, the agents (each exactly
once, none unknown) and each line's form. When it refuses, it says why; the
planners quote that reason when they ask again.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from brigade.action import Action
from brigade.errors import ActionParseError, InputError
from brigade.plan import JointPlan, Waypoint, format_path

KEYWORDS = ("EXECUTE", "PROCEED")

_DECORATION = re.compile(r"^\s*(?:[-*+>]|\d+[.)]|`{1,3}|\*\*)*\s*")
_TRAILING = re.compile(r"[\s`*:.!]*$")
_ACTION_HINT = re.compile(r"\bNAME\b", re.IGNORECASE)
_ACTION_LINE = re.compile(r"^NAME\s+\S+\s+ACTION\b", re.IGNORECASE)
_PATH = re.compile(r"\s+PATH\b\s*:?\s*")
#: Most waypoints one PATH may give, and the longest PATH text read.
MAX_WAYPOINTS = 16
MAX_PATH_TEXT = 2000


class AnswerError(InputError):
    """An answer that cannot be read; ``reason`` says why (quoted back to the LLM)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Answer:
    """A parsed answer.

    Attributes:
        keyword: ``EXECUTE`` or ``PROCEED``.
        actions: The actions given, in the environment's agent order.
        reasoning: The text before the keyword.
        paths: Waypoints given with ``PATH``, by agent.
    """

    keyword: str
    actions: tuple[Action, ...]
    reasoning: str = ""
    paths: Mapping[str, tuple[Waypoint, ...]] = field(default_factory=dict)

    def plan(self) -> JointPlan:
        """The actions (and their waypoints) as a joint plan."""
        return JointPlan(self.actions, dict(self.paths))

    def for_agent(self, agent: str) -> Action:
        """The action given for ``agent``."""
        for action in self.actions:
            if action.agent == agent:
                return action
        raise AnswerError(f"the answer has no line for {agent}")


def _clean(line: str) -> str:
    line = _DECORATION.sub("", line)
    line = line.replace("**", "").replace("`", "")
    return line.strip()


def _keyword_of(line: str) -> str | None:
    word = _TRAILING.sub("", _clean(line)).upper()
    return word if word in KEYWORDS else None


def parse_answer(
    text: str,
    agents: Sequence[str],
    *,
    expect: Sequence[str] = KEYWORDS,
    require: Sequence[str] | None = None,
) -> Answer:
    """Read the answer in ``text``.

    Args:
        text: The reply.
        agents: Every agent of the environment, in order.
        expect: The keywords accepted here.
        require: The agents that must have a line (default: every agent for
            ``EXECUTE``; for ``PROCEED``, give the speaking agent).

    Raises:
        AnswerError: The reply holds no readable answer; the reason says why.
    """
    lines = text.splitlines()
    found = [(i, kw) for i, line in enumerate(lines) if (kw := _keyword_of(line)) is not None]
    # The answer is the last keyword that some action line follows (a repeated
    # "EXECUTE." or a closing "Proceed." after the answer is prose).
    with_actions = [
        (i, kw)
        for i, kw in found
        if any(_ACTION_LINE.match(_clean(x)) for x in lines[i + 1 : i + 1 + _lookahead(lines, i)])
    ]
    found = with_actions or found
    if not found:
        wanted = " or ".join(expect)
        if any(_ACTION_HINT.search(line) for line in lines):
            raise AnswerError(f"the action lines must come after a line that says {wanted}")
        raise AnswerError(
            f"no answer found: write {wanted} on its own line, then one line per agent: "
            "NAME <agent> ACTION <action>"
        )
    start, keyword = found[-1]
    if keyword not in expect:
        raise AnswerError(f"{keyword} is not expected here; answer with {' or '.join(expect)}")
    actions: dict[str, Action] = {}
    paths: dict[str, tuple[Waypoint, ...]] = {}
    for raw in lines[start + 1 :]:
        line = _clean(raw).rstrip(".")
        if not line:
            continue
        if not _ACTION_LINE.match(line):
            if actions:
                break  # prose after the answer
            raise AnswerError(
                f"after {keyword}, expected lines 'NAME <agent> ACTION <action>', got {line!r}"
            )
        path_text: str | None = None
        if (marker := _PATH.search(line)) is not None:
            line, path_text = line[: marker.start()], line[marker.end() :]
        try:
            action = Action.parse(line)
        except ActionParseError as exc:
            raise AnswerError(f"line {line!r} is not an action: {exc.reason}") from None
        if path_text is not None:
            paths[action.agent] = parse_path(path_text, action.agent)
        if action.agent not in agents:
            raise AnswerError(
                f"{action.agent!r} is not an agent here; the agents are {', '.join(agents)}"
            )
        if action.agent in actions:
            raise AnswerError(f"{action.agent} has more than one action; give each agent one")
        actions[action.agent] = action
    if not actions:
        raise AnswerError(f"{keyword} is not followed by any 'NAME <agent> ACTION <action>' line")
    needed = (
        list(require) if require is not None else (list(agents) if keyword == "EXECUTE" else [])
    )
    missing = [a for a in needed if a not in actions]
    if missing:
        raise AnswerError(f"no action for {', '.join(missing)}; give every agent one line")
    ordered = tuple(actions[a] for a in agents if a in actions)
    return Answer(keyword, ordered, "\n".join(lines[:start]).strip(), paths)


def parse_path(text: str, agent: str = "") -> tuple[Waypoint, ...]:
    """The waypoints of a ``PATH``: ``[(x, y, z), ...]``, numbers in metres.

    The text is read as a Python literal (never evaluated as code); square or
    round outer brackets are both accepted, as LLMs write either.

    Raises:
        AnswerError: The text is not a list of 1 to :data:`MAX_WAYPOINTS`
            points of three finite numbers; the reason says what is wrong.
    """
    who = f"{agent}'s " if agent else ""
    example = "PATH [(0.1, -0.2, 0.3), (0.2, -0.2, 0.3)]"
    if len(text) > MAX_PATH_TEXT:
        raise AnswerError(f"{who}PATH is longer than {MAX_PATH_TEXT} characters")
    try:
        value = ast.literal_eval(text.strip().rstrip("."))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise AnswerError(
            f"{who}PATH must be a list of (x, y, z) points, e.g. {example}; got {text.strip()!r}"
        ) from None
    if not isinstance(value, list | tuple) or not value:
        raise AnswerError(f"{who}PATH must be a non-empty list of (x, y, z) points, e.g. {example}")
    if len(value) == 3 and all(isinstance(v, int | float) for v in value):
        value = [value]  # a single point without the outer brackets
    if len(value) > MAX_WAYPOINTS:
        raise AnswerError(f"{who}PATH gives {len(value)} waypoints; at most {MAX_WAYPOINTS}")
    points: list[Waypoint] = []
    for number, point in enumerate(value, start=1):
        if (
            not isinstance(point, list | tuple)
            or len(point) != 3
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in point)
            or not all(math.isfinite(v) for v in point)
        ):
            raise AnswerError(
                f"{who}PATH waypoint {number} must be three finite numbers (x, y, z), not {point!r}"
            )
        points.append(tuple(float(v) for v in point))
    return tuple(points)


def _lookahead(lines: list[str], start: int) -> int:
    """How many lines after ``start`` belong to its answer block (up to the next keyword)."""
    for k, line in enumerate(lines[start + 1 :], start=1):
        if _keyword_of(line) is not None:
            return k - 1
    return len(lines) - start - 1


def format_answer(
    actions: Sequence[Action],
    keyword: str = "EXECUTE",
    reasoning: str = "",
    paths: Mapping[str, Sequence[Waypoint]] | None = None,
) -> str:
    """The canonical text of an answer (what the prompts show as an example)."""
    head = f"{reasoning.strip()}\n" if reasoning.strip() else ""
    paths = paths or {}
    lines = [
        a.to_text() + (f" {format_path(paths[a.agent])}" if a.agent in paths else "")
        for a in actions
    ]
    return head + keyword + "\n" + "\n".join(lines)
