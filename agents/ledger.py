"""A ledger of chat calls: tokens, cost, latency and retries, with a budget cap.

:class:`PriceTable` prices a model's tokens (USD per million input and output
tokens; glob patterns such as ``gpt-4o*`` allowed). :class:`Ledger` records one
:class:`LedgerEntry` per call, rolls them up per agent, episode, run, model or
purpose, and raises :class:`~brigade.errors.BudgetExceededError` from
:meth:`Ledger.check_budget` once the run's spending reaches its cap, so a run
ends cleanly with what it recorded.

Tokens come from the completion's :class:`~brigade.chat.Usage`: the server's
count when it sends one, else the model tokenizer's, else
:func:`~brigade.chat.estimate_tokens` (``usage_source`` says which). Replies from
the record/replay cache cost nothing and do not count towards the budget, but
their tokens are still reported.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import math
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from brigade.chat import Completion
from brigade.errors import BudgetExceededError, ConfigError, did_you_mean


@dataclass(frozen=True)
class Price:
    """What a model's tokens cost.

    Attributes:
        input: USD per million prompt tokens.
        output: USD per million reply tokens.
    """

    input: float
    output: float

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        """The USD cost of a call with these token counts."""
        return (tokens_in * self.input + tokens_out * self.output) / 1_000_000


FREE = Price(0.0, 0.0)

# USD per million tokens, OpenAI's list prices in 2025. Prices change: override
# them with a YAML file (PriceTable.from_yaml). Local, simulated and unknown
# models cost nothing.
DEFAULT_PRICES: dict[str, Price] = {
    "gpt-4o*": Price(2.50, 10.00),
    "gpt-4o-mini*": Price(0.15, 0.60),
    "gpt-4.1*": Price(2.00, 8.00),
    "gpt-4.1-mini*": Price(0.40, 1.60),
    "gpt-4.1-nano*": Price(0.10, 0.40),
    "gpt-4-turbo*": Price(10.00, 30.00),
    "gpt-4": Price(30.00, 60.00),
    "gpt-3.5-turbo*": Price(0.50, 1.50),
    "o3-mini*": Price(1.10, 4.40),
    "o4-mini*": Price(1.10, 4.40),
    "brigade-sim*": FREE,
}

_PRICE_FIELDS = ("input", "output")


def _specificity(pattern: str) -> int:
    """How many characters of ``pattern`` are literal (more: a closer match)."""
    return len(pattern) - sum(pattern.count(c) for c in "*?[]")


class PriceTable:
    """Prices per model name; a name may be a glob pattern (``gpt-4o*``).

    An exact name wins over patterns, and among matching patterns the one with
    the most literal characters wins (``gpt-4o-mini*`` over ``gpt-4o*``). A model
    that nothing matches costs nothing.

    Args:
        prices: Model name or pattern -> price (default: :data:`DEFAULT_PRICES`).
    """

    def __init__(self, prices: Mapping[str, Price] | None = None) -> None:
        self._prices = dict(DEFAULT_PRICES if prices is None else prices)

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        extend_default: bool = True,
        source: str | None = None,
    ) -> PriceTable:
        """A table from ``{model: {input: USD/M, output: USD/M}}``.

        A price may also be a two-item list ``[input, output]``.

        Args:
            data: The prices.
            extend_default: Start from :data:`DEFAULT_PRICES` (entries of ``data`` win).
            source: Where ``data`` came from (a file), named in errors.

        Raises:
            ConfigError: A price is not two non-negative numbers, or a field is unknown.
        """
        prices = dict(DEFAULT_PRICES) if extend_default else {}
        for name, value in data.items():
            prices[str(name)] = _parse_price(str(name), value, source)
        return cls(prices)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str], *, extend_default: bool = True) -> PriceTable:
        """A table from a YAML file holding the mapping of :meth:`from_dict`.

        Raises:
            ConfigError: The file is not such a mapping (the error names the file).
        """
        source = str(path)
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read the price table: {exc}", source=source) from exc
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError("a price table maps model names to prices", source=source)
        return cls.from_dict(data, extend_default=extend_default, source=source)

    @property
    def prices(self) -> dict[str, Price]:
        """The entries (model name or pattern -> price)."""
        return dict(self._prices)

    def match(self, model: str) -> str | None:
        """The entry that prices ``model``, or ``None`` when none does."""
        if model in self._prices:
            return model
        best: str | None = None
        for pattern in self._prices:
            if fnmatch.fnmatchcase(model, pattern) and (
                best is None or _specificity(pattern) > _specificity(best)
            ):
                best = pattern
        return best

    def price(self, model: str) -> Price:
        """The price of ``model`` (free when no entry matches)."""
        entry = self.match(model)
        return FREE if entry is None else self._prices[entry]

    def cost(self, model: str, tokens_in: int, tokens_out: int) -> float:
        """The USD cost of a call of ``model`` with these token counts."""
        return self.price(model).cost(tokens_in, tokens_out)


def _parse_price(name: str, value: Any, source: str | None) -> Price:
    if isinstance(value, Price):
        return value
    if isinstance(value, Mapping):
        unknown = [k for k in value if k not in _PRICE_FIELDS]
        if unknown:
            bad = str(unknown[0])
            raise ConfigError(
                f"unknown price field {bad!r}{did_you_mean(bad, _PRICE_FIELDS)}; "
                "a price has 'input' and 'output' (USD per million tokens)",
                key=f"{name}.{bad}",
                source=source,
            )
        missing = [k for k in _PRICE_FIELDS if k not in value]
        if missing:
            raise ConfigError(f"the price has no {missing[0]!r}", key=name, source=source)
        numbers = [value["input"], value["output"]]
    elif isinstance(value, (list, tuple)) and len(value) == 2:
        numbers = list(value)
    else:
        raise ConfigError(
            f"a price is {{input: USD/M, output: USD/M}} or [input, output], not {value!r}",
            key=name,
            source=source,
        )
    for number in numbers:
        if (
            isinstance(number, bool)
            or not isinstance(number, (int, float))
            or not (math.isfinite(number) and number >= 0)
        ):
            raise ConfigError(f"a price is a number >= 0, not {number!r}", key=name, source=source)
    return Price(float(numbers[0]), float(numbers[1]))


@dataclass(frozen=True)
class LedgerEntry:
    """One recorded chat call.

    Attributes:
        index: Its 0-based order in the ledger.
        run: The run it belongs to.
        episode: The episode it belongs to.
        agent: The agent that asked.
        purpose: Why it was asked (``plan``, ``reask``, ``refine``...).
        model: The model priced.
        tokens_in: Prompt tokens.
        tokens_out: Reply tokens.
        usage_source: Where the counts came from (``server``, ``tokenizer``, ``estimate``).
        cost_usd: What the call cost (for a cached reply: when it was made).
        latency_s: Seconds it took.
        cached: It came from the record/replay cache.
        retries: Transport retries it needed.
    """

    index: int
    run: str
    episode: str
    agent: str
    purpose: str
    model: str
    tokens_in: int
    tokens_out: int
    usage_source: str
    cost_usd: float
    latency_s: float
    cached: bool
    retries: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the fields."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Totals:
    """A roll-up of ledger entries.

    Attributes:
        calls: Calls.
        tokens_in: Prompt tokens (cached calls included).
        tokens_out: Reply tokens (cached calls included).
        cost_usd: Cost.
        latency_s: Seconds spent waiting for replies.
        retries: Transport retries.
        cached: Calls answered by the cache.
    """

    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0
    retries: int = 0
    cached: int = 0

    def add(self, entry: LedgerEntry) -> Totals:
        """These totals with ``entry`` added."""
        return Totals(
            calls=self.calls + 1,
            tokens_in=self.tokens_in + entry.tokens_in,
            tokens_out=self.tokens_out + entry.tokens_out,
            cost_usd=self.cost_usd + entry.cost_usd,
            latency_s=self.latency_s + entry.latency_s,
            retries=self.retries + entry.retries,
            cached=self.cached + int(entry.cached),
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the fields."""
        return dataclasses.asdict(self)


ROLLUPS = ("agent", "episode", "run", "model", "purpose")


class Ledger:
    """A thread-safe record of chat calls with an optional budget.

    Args:
        prices: The price table (default: :class:`PriceTable` with its defaults).
        budget_usd: Spending cap in USD (``None``: none).
        budget_tokens: Cap on tokens in plus out (``None``: none).

    Raises:
        ConfigError: A cap is negative.
    """

    def __init__(
        self,
        prices: PriceTable | None = None,
        budget_usd: float | None = None,
        budget_tokens: int | None = None,
    ) -> None:
        if budget_usd is not None and not budget_usd >= 0:
            raise ConfigError(f"must be >= 0, not {budget_usd}", key="budget_usd")
        if budget_tokens is not None and budget_tokens < 0:
            raise ConfigError(f"must be >= 0, not {budget_tokens}", key="budget_tokens")
        self.prices = prices or PriceTable()
        self.budget_usd = budget_usd
        self.budget_tokens = budget_tokens
        self._lock = threading.Lock()
        self._entries: list[LedgerEntry] = []
        self._spent_usd = 0.0
        self._spent_tokens = 0

    def record(
        self,
        completion: Completion,
        *,
        model: str | None = None,
        run: str = "",
        episode: str = "",
        agent: str = "",
        purpose: str = "",
    ) -> LedgerEntry:
        """Record one call and return its entry.

        Args:
            completion: The reply.
            model: The model to price (default: ``completion.model``).
            run: The run's id.
            episode: The episode's id.
            agent: The agent that asked.
            purpose: Why it asked.
        """
        name = completion.model if model is None else model
        usage = completion.usage
        # A cached reply reports what the call cost when it was made (so a replayed
        # run's records equal the recorded run's); only live calls spend the budget.
        cost = self.prices.cost(name, usage.tokens_in, usage.tokens_out)
        with self._lock:
            entry = LedgerEntry(
                index=len(self._entries),
                run=run,
                episode=episode,
                agent=agent,
                purpose=purpose,
                model=name,
                tokens_in=usage.tokens_in,
                tokens_out=usage.tokens_out,
                usage_source=usage.source,
                cost_usd=cost,
                latency_s=completion.latency_s,
                cached=completion.cached,
                retries=completion.retries,
            )
            self._entries.append(entry)
            if not completion.cached:
                self._spent_usd += cost
                self._spent_tokens += usage.tokens_in + usage.tokens_out
        return entry

    def add(self, entry: LedgerEntry) -> LedgerEntry:
        """Record an entry made by another ledger (a planner node's), numbered in this one.

        Its cost and tokens count towards this ledger's spending as they did there.
        """
        with self._lock:
            entry = dataclasses.replace(entry, index=len(self._entries))
            self._entries.append(entry)
            if not entry.cached:
                self._spent_usd += entry.cost_usd
                self._spent_tokens += entry.tokens_in + entry.tokens_out
        return entry

    @property
    def spent_usd(self) -> float:
        """USD spent so far (cached calls are free)."""
        with self._lock:
            return self._spent_usd

    @property
    def spent_tokens(self) -> int:
        """Tokens in plus out of the calls that were not cached."""
        with self._lock:
            return self._spent_tokens

    def exhausted(self) -> str | None:
        """Why the budget is spent, or ``None`` while it is not."""
        with self._lock:
            usd, tokens, calls = self._spent_usd, self._spent_tokens, len(self._entries)
        # A relative tolerance, so that costs summed in floating point still reach
        # a cap they reach exactly in decimal (0.1 + 0.2 reaches 0.3).
        if self.budget_usd is not None and usd >= self.budget_usd * (1 - 1e-9):
            return f"spent ${usd:.4f} of the ${self.budget_usd:.4f} budget in {calls} calls"
        if self.budget_tokens is not None and tokens >= self.budget_tokens:
            return f"spent {tokens} of the {self.budget_tokens} token budget in {calls} calls"
        return None

    def check_budget(self) -> None:
        """Raise when the budget is spent; call it before each chat call.

        Raises:
            BudgetExceededError: The spent cost or tokens reached a cap.
        """
        reason = self.exhausted()
        if reason is not None:
            raise BudgetExceededError(
                f"budget reached: {reason}; the run ends with what it recorded"
            )

    @property
    def entries(self) -> list[LedgerEntry]:
        """Every entry so far, in order."""
        with self._lock:
            return list(self._entries)

    def total(self) -> Totals:
        """The roll-up of every entry."""
        totals = Totals()
        for entry in self.entries:
            totals = totals.add(entry)
        return totals

    def totals(self, by: str = "agent") -> dict[str, Totals]:
        """Roll-ups per ``agent``, ``episode``, ``run``, ``model`` or ``purpose``.

        Raises:
            ConfigError: ``by`` is not one of those.
        """
        if by not in ROLLUPS:
            raise ConfigError(
                f"cannot roll up by {by!r}{did_you_mean(by, ROLLUPS)}; one of {', '.join(ROLLUPS)}"
            )
        groups: dict[str, Totals] = {}
        for entry in self.entries:
            group = str(getattr(entry, by))
            groups[group] = groups.get(group, Totals()).add(entry)
        return groups

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready export: the budget, the totals and every entry."""
        return {
            "budget_usd": self.budget_usd,
            "budget_tokens": self.budget_tokens,
            "total": self.total().to_dict(),
            "entries": [e.to_dict() for e in self.entries],
        }
