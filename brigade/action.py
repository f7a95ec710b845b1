"""One agent's high-level action and its canonical text form.

The text form is what LLM planners write and what transcripts record::

    NAME Bob ACTION PICK banana

An action is an agent name, an upper-case verb and zero or more arguments.
Arguments are single tokens (no white space); parsing is strict and says why a
line is not an action.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from brigade.errors import ActionParseError

_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")
_VERB_RE = re.compile(r"^[A-Z][A-Z_]*$")
_ARG_RE = re.compile(r"^\S+$")


@dataclass(frozen=True)
class Action:
    """One agent's high-level action.

    Attributes:
        agent: The agent's name, e.g. ``"Bob"``.
        verb: The upper-case verb, e.g. ``"PICK"``.
        args: The verb's arguments, e.g. ``("banana",)``.
    """

    agent: str
    verb: str
    args: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.args, tuple):
            object.__setattr__(self, "args", tuple(self.args))
        if not _NAME_RE.match(self.agent):
            raise ActionParseError(self.to_text_unchecked(), f"bad agent name {self.agent!r}")
        if not _VERB_RE.match(self.verb):
            raise ActionParseError(
                self.to_text_unchecked(), f"verb {self.verb!r} must be upper-case letters"
            )
        for arg in self.args:
            if not isinstance(arg, str) or not _ARG_RE.match(arg):
                raise ActionParseError(
                    self.to_text_unchecked(), f"argument {arg!r} must be one token without spaces"
                )

    @property
    def command(self) -> str:
        """The verb and its arguments, e.g. ``"PICK banana"``."""
        return " ".join((self.verb, *self.args))

    def to_text(self) -> str:
        """Return the canonical text form, ``NAME <agent> ACTION <verb> <args...>``."""
        return f"NAME {self.agent} ACTION {self.command}"

    def to_text_unchecked(self) -> str:
        """The text form without validation (used in error messages)."""
        args = " ".join(str(a) for a in self.args)
        return f"NAME {self.agent} ACTION {self.verb} {args}".rstrip()

    def __str__(self) -> str:
        return self.to_text()

    @classmethod
    def parse(cls, line: str) -> Action:
        """Parse one canonical action line.

        Args:
            line: A line such as ``"NAME Bob ACTION PICK banana"``. Leading and
                trailing white space is ignored; the keywords ``NAME`` and
                ``ACTION`` must be upper case.

        Raises:
            ActionParseError: The line is not an action; the error says why.
        """
        tokens = line.split()
        if not tokens:
            raise ActionParseError(line, "the line is empty")
        if tokens[0] != "NAME":
            raise ActionParseError(line, "an action line starts with 'NAME <agent>'")
        if len(tokens) < 2:
            raise ActionParseError(line, "the agent's name is missing after NAME")
        if len(tokens) < 3 or tokens[2] != "ACTION":
            raise ActionParseError(line, "expected 'ACTION <verb>' after the agent's name")
        if len(tokens) < 4:
            raise ActionParseError(line, "the verb is missing after ACTION")
        verb = tokens[3]
        if not _VERB_RE.match(verb):
            if _VERB_RE.match(verb.upper()):
                verb = verb.upper()
            else:
                raise ActionParseError(line, f"{verb!r} is not a verb (letters and '_' only)")
        if not _NAME_RE.match(tokens[1]):
            raise ActionParseError(line, f"{tokens[1]!r} is not a valid agent name")
        return cls(tokens[1], verb, tuple(tokens[4:]))
