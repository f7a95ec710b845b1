"""What the simulated LLM understands of a request, read from the messages alone.

Like a real LLM, it only has the text: the environment's description (the
last user message that holds one), what kind of answer is asked for (a joint
plan, one agent's turn in a dialog, the dialog's settled plan, a reflection),
who speaks, what other agents already proposed in the dialog, and whether its
previous answer was rejected. Any user message after one of its own answers
is feedback on that answer (so a planner that keeps a multi-turn chat must
expect every new user turn to read as feedback); in a RoCo-style dialog held
in one message, an ``[environment]`` line rejecting the round's plan is
feedback on the speaker's own line in that round.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from brigade.action import Action
from brigade.chat import Message
from brigade.errors import ActionParseError

_DIALOG = "The discussion so far:"
_REJECTED = "[environment]"
_YOU_ARE = re.compile(r"\bYou are ([A-Z][A-Za-z0-9_\-]*)\b")
_ACTION_LINE = re.compile(r"NAME\s+\S+\s+ACTION\s+[^\n;]+")


@dataclass(frozen=True)
class ReadRequest:
    """A request as the simulated LLM reads it.

    Attributes:
        kind: ``joint`` (EXECUTE with every agent), ``turn`` (PROCEED with one's
            own line), ``final`` (the dialog's EXECUTE) or ``reflect``.
        speaker: The agent speaking (turn and final), if named.
        description: The text in which to look for the environment's description.
        proposals: Actions other agents proposed in the dialog so far.
        previous: The model's own previous answer in this conversation, if any.
        rejected: The previous answer drew feedback (a re-ask, a re-plan, a score).
    """

    kind: str
    speaker: str | None
    description: str
    proposals: tuple[Action, ...]
    previous: str | None
    rejected: bool


def _actions_in(text: str) -> list[Action]:
    found = []
    for match in _ACTION_LINE.finditer(text):
        try:
            found.append(Action.parse(match.group(0).strip()))
        except ActionParseError:
            continue
    return found


def read_request(messages: Sequence[Message]) -> ReadRequest:
    """Read ``messages`` (see the module docstring)."""
    system = "\n".join(m.content for m in messages if m.role == "system")
    users = [m.content for m in messages if m.role == "user"]
    last_user = users[-1] if users else ""
    if "say what went wrong" in last_user and "Do not give actions" in last_user:
        kind = "reflect"
    elif "the last to speak" in system or "Settle the team's plan" in system:
        kind = "final"
    elif "PROCEED on its own line" in system:
        kind = "turn"
    else:
        kind = "joint"
    described = [u for u in users if 'Kitchen "' in u or "[Task] " in u]
    description = described[-1] if described else last_user
    speaker = None
    if kind in ("turn", "final"):
        match = _YOU_ARE.search(system) or _YOU_ARE.search(description)
        speaker = match.group(1) if match else None
    previous = None
    rejected = False
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].role == "assistant":
            previous = messages[index].content
            rejected = any(m.role == "user" for m in messages[index + 1 :])
            break
    proposals: tuple[Action, ...] = ()
    if _DIALOG in description:
        dialog = description.split(_DIALOG, 1)[1]
        cut = dialog.rfind(_REJECTED)
        if cut >= 0:
            # A dialog round ended in a rejected plan: the speaker's own last line in
            # it is its rejected answer, and only the new round's proposals count.
            said = [line for line in dialog[:cut].splitlines() if line.startswith(f"[{speaker}]")]
            if said and previous is None:
                keyword = "EXECUTE" if "-> EXECUTE" in said[-1] else "PROCEED"
                lines = "\n".join(a.to_text() for a in _actions_in(said[-1]))
                previous, rejected = f"{keyword}\n{lines}", True
            dialog = dialog[cut:]
        proposals = tuple(a for a in _actions_in(dialog) if a.agent != speaker)
    return ReadRequest(kind, speaker, description, proposals, previous, rejected)
