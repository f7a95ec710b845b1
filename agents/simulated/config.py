"""The simulated LLM's error model: its rates, and the hash that freezes them.

Per answered agent, the chance of a mistake grows with the difficulty of the
moment::

    p = min(max_error,
            base_error
            + per_extra_agent * (agents - 2)
            + per_remaining_step * min(remaining_steps, remaining_cap))

where ``remaining_steps`` is the length of the scripted expert's remaining plan
from the state the prompt describes (in the task's own steps: skills or moves).
A mistake's kind is drawn with the ``kinds`` weights among the kinds possible at
that moment. Per reply, ``format_error`` breaks the answer's format and
``all_wait`` makes everyone WAIT. After feedback of any kind, the model ignores
it with ``ignore_feedback`` (repeating its answer), else draws again from the
same model, excluding the rejected answer.

The defaults are the calibrated, frozen ones (docs/simulated_llm.md); every run
records :func:`config_hash` in its manifest and in every episode record.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

from brigade.errors import ConfigError

MISTAKE_KINDS = ("ignore_partner", "infeasible", "nonexistent", "wrong", "wait")


def _default_kinds() -> dict[str, float]:
    return {
        "ignore_partner": 0.35,
        "infeasible": 0.25,
        "nonexistent": 0.10,
        "wrong": 0.20,
        "wait": 0.10,
    }


@dataclass
class SimConfig:
    """The simulated LLM's error model (see the module docstring).

    Attributes:
        base_error: Chance of a mistake per answered agent at the easiest.
        per_extra_agent: Added per agent beyond two.
        per_remaining_step: Added per step of the expert's remaining plan.
        remaining_cap: Steps of remaining plan beyond which difficulty stops growing.
        max_error: Cap of the per-agent chance.
        kinds: Relative weights of the mistake kinds.
        format_error: Chance per reply that the answer's format is broken.
        all_wait: Chance per joint reply that everyone WAITs.
        ignore_feedback: Chance that feedback is ignored (the rejected answer comes again).
        model_name: The model name the simulator reports.
    """

    base_error: float = 0.25
    per_extra_agent: float = 0.03
    per_remaining_step: float = 0.006
    remaining_cap: int = 30
    max_error: float = 0.6
    kinds: dict[str, float] = field(default_factory=_default_kinds)
    format_error: float = 0.01
    all_wait: float = 0.02
    ignore_feedback: float = 0.2
    model_name: str = "brigade-sim-llm"

    def validate(self) -> None:
        """Raise :class:`ConfigError` for rates outside [0, 1] or unknown kinds."""
        for key in (
            "base_error",
            "per_extra_agent",
            "per_remaining_step",
            "max_error",
            "format_error",
            "all_wait",
            "ignore_feedback",
        ):
            value = getattr(self, key)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"must lie in [0, 1], not {value}", key=key)
        for kind, weight in self.kinds.items():
            if kind not in MISTAKE_KINDS:
                from brigade.errors import did_you_mean

                raise ConfigError(
                    f"unknown mistake kind{did_you_mean(kind, MISTAKE_KINDS)}", key=f"kinds.{kind}"
                )
            if weight < 0:
                raise ConfigError("weights must not be negative", key=f"kinds.{kind}")
        if self.remaining_cap < 0:
            raise ConfigError("must not be negative", key="remaining_cap")

    def error_rate(self, agents: int, remaining_steps: int) -> float:
        """The chance of a mistake per answered agent."""
        p = (
            self.base_error
            + self.per_extra_agent * max(agents - 2, 0)
            + self.per_remaining_step * min(max(remaining_steps, 0), self.remaining_cap)
        )
        return min(self.max_error, p)


def config_hash(config: SimConfig) -> str:
    """A short hash of the configuration (recorded with every run and episode)."""
    text = json.dumps(asdict(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]
