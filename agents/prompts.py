"""Prompt machinery: versioned templates and histories kept within a token budget.

A :class:`Template` is a named, versioned text with ``{fields}``. Its
:attr:`~Template.tag` (``name@version:hash``) is recorded with every episode, so
a result always names the exact prompts that produced it; editing a template's
text without bumping its version still changes the hash. The texts themselves
live in :mod:`brigade.agents.templates`, one set per environment family and per
planner.
"""

from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass, field

from brigade.chat import estimate_tokens
from brigade.errors import InputError


@dataclass(frozen=True)
class Template:
    """A versioned prompt text with ``{named}`` fields."""

    name: str
    version: int
    text: str

    @property
    def fields(self) -> set[str]:
        """The names of the fields the text expects."""
        return {f for _, f, _, _ in string.Formatter().parse(self.text) if f}

    @property
    def tag(self) -> str:
        """``name@version:hash8``: what episodes record."""
        digest = hashlib.sha256(self.text.encode()).hexdigest()[:8]
        return f"{self.name}@{self.version}:{digest}"

    def render(self, **values: object) -> str:
        """The text with its fields filled.

        Raises:
            InputError: A field is missing or unknown.
        """
        missing = self.fields - set(values)
        extra = set(values) - self.fields
        if missing or extra:
            raise InputError(
                f"template {self.name}: missing fields {sorted(missing)}, unknown {sorted(extra)}"
            )
        return self.text.format(**values)


@dataclass
class History:
    """Past rounds of a full-history planner, kept within a token budget.

    The oldest rounds are dropped first; :attr:`dropped` counts them (recorded).
    """

    max_tokens: int = 2000
    rounds: list[str] = field(default_factory=list)
    dropped: int = 0

    def add(self, text: str) -> None:
        """Add one round and drop the oldest ones beyond the budget."""
        self.rounds.append(text.strip())
        while (
            len(self.rounds) > 1 and sum(estimate_tokens(r) for r in self.rounds) > self.max_tokens
        ):
            self.rounds.pop(0)
            self.dropped += 1

    @property
    def added(self) -> int:
        """Rounds added so far (kept or dropped): the next round's number minus one."""
        return len(self.rounds) + self.dropped

    def render(self, title: str = "What happened so far") -> str:
        """The history as a prompt section ("" when empty)."""
        if not self.rounds:
            return ""
        note = f" (the {self.dropped} oldest rounds are left out)" if self.dropped else ""
        return f"{title}{note}:\n" + "\n".join(self.rounds)
