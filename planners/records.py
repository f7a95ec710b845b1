"""Episode records and the summaries made from them.

One JSON object per finished episode goes to ``episodes.jsonl`` (appended and
flushed as each episode ends, so a killed run keeps everything it finished).
Infrastructure failures (rate limits, timeouts, server errors, budget) are
kept in the records but excluded from success rates; a reply that stayed
unreadable (``parse``) is the planner's failure and counts.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
INFRASTRUCTURE_KINDS = ("rate_limit", "timeout", "server_error", "budget")


@dataclass
class EpisodeRecord:
    """What one episode did (see ``docs/results.md`` for the fields' meaning)."""

    env: str
    planner: str
    llm: str
    seed: int
    success: bool
    env_steps: int
    moves: int
    llm_queries: int
    llm_retries: int
    tokens_in: int
    tokens_out: int
    cost_usd: float
    wall_s: float
    failure_kind: str | None
    prompt_versions: dict[str, str] = field(default_factory=dict)
    prompts_hash: str = ""
    sim_config_hash: str | None = None
    score: float = 0.0
    step_limit: int | None = None
    planner_stats: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    transcript: str | None = None
    video: str | None = None
    critic: dict[str, Any] | None = None
    schema_version: int = SCHEMA_VERSION

    @property
    def key(self) -> tuple[str, str, int]:
        """What identifies an episode in a run: environment, planner and seed."""
        return (self.env, self.planner, self.seed)

    @property
    def infrastructure_failure(self) -> bool:
        """The episode ended because of the machinery, not the planner."""
        return self.failure_kind in INFRASTRUCTURE_KINDS

    def to_json(self) -> str:
        """One line of ``episodes.jsonl``."""
        return json.dumps(asdict(self), sort_keys=True)


def read_records(path: Path) -> list[EpisodeRecord]:
    """The records of an ``episodes.jsonl`` (a torn last line, from a crash, is skipped)."""
    if not path.exists():
        return []
    records = []
    known = set(EpisodeRecord.__dataclass_fields__)
    for line in path.read_text().splitlines():
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            continue
        records.append(EpisodeRecord(**{k: v for k, v in data.items() if k in known}))
    return records


def latest_records(records: Iterable[EpisodeRecord]) -> list[EpisodeRecord]:
    """One record per episode: the latest (an episode redone on resume replaces the old one)."""
    latest: dict[tuple[str, str, int], EpisodeRecord] = {}
    for record in records:
        latest[record.key] = record
    return list(latest.values())


class RecordWriter:
    """Appends records to ``episodes.jsonl``, one flushed and synced line each, thread-safe."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        # A crash may have left a torn last line: end it, so new records stay readable.
        if path.exists() and path.stat().st_size:
            with path.open("rb") as fh:
                fh.seek(-1, os.SEEK_END)
                torn = fh.read(1) != b"\n"
            if torn:
                with path.open("a") as fh:
                    fh.write("\n")

    def write(self, record: EpisodeRecord) -> None:
        """Append ``record``."""
        with self._lock, self.path.open("a") as fh:
            fh.write(record.to_json() + "\n")
            fh.flush()
            os.fsync(fh.fileno())


@dataclass(frozen=True)
class Stat:
    """A mean and its standard error."""

    mean: float
    se: float
    n: int

    def text(self, digits: int = 2) -> str:
        """``mean ± se``."""
        if self.n == 0:
            return "-"
        return f"{self.mean:.{digits}f} ± {self.se:.{digits}f}"


def mean_se(values: Sequence[float]) -> Stat:
    """Mean and standard error of the mean (sample standard deviation over sqrt(n))."""
    n = len(values)
    if n == 0:
        return Stat(float("nan"), float("nan"), 0)
    mean = sum(values) / n
    if n == 1:
        return Stat(mean, 0.0, 1)
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return Stat(mean, math.sqrt(var / n), n)


@dataclass(frozen=True)
class Summary:
    """The summary of one (environment, planner) cell."""

    env: str
    planner: str
    episodes: int
    counted: int
    success: Stat
    env_steps: Stat
    llm_queries: Stat
    parse_failures: int
    infrastructure: dict[str, int]
    cost_usd: float

    def row(self) -> dict[str, Any]:
        """The cell as a table row."""
        infra = ", ".join(f"{k} {v}" for k, v in self.infrastructure.items() if v) or "0"
        return {
            "env": self.env,
            "planner": self.planner,
            "episodes": self.episodes,
            "SR": self.success.text(),
            "ES": self.env_steps.text(1),
            "NQ": self.llm_queries.text(1),
            "parse failures": self.parse_failures,
            "infrastructure failures": infra,
            "cost (USD)": f"{self.cost_usd:.4f}",
        }


def summarize(records: Iterable[EpisodeRecord]) -> list[Summary]:
    """Summaries per (environment, planner): SR, ES and NQ with standard errors.

    Episodes that ended on an infrastructure failure are counted apart and left
    out of SR, ES and NQ.
    """
    groups: dict[tuple[str, str], list[EpisodeRecord]] = {}
    for record in records:
        groups.setdefault((record.env, record.planner), []).append(record)
    out = []
    for (env, planner), group in sorted(groups.items()):
        counted = [r for r in group if not r.infrastructure_failure]
        infra = {k: sum(1 for r in group if r.failure_kind == k) for k in INFRASTRUCTURE_KINDS}
        out.append(
            Summary(
                env,
                planner,
                len(group),
                len(counted),
                mean_se([1.0 if r.success else 0.0 for r in counted]),
                mean_se([float(r.env_steps) for r in counted]),
                mean_se([float(r.llm_queries) for r in counted]),
                sum(1 for r in group if r.failure_kind == "parse"),
                infra,
                sum(r.cost_usd for r in group),
            )
        )
    return out


def summary_markdown(summaries: Sequence[Summary]) -> str:
    """The summaries as a Markdown table."""
    if not summaries:
        return "(no episodes)\n"
    rows = [s.row() for s in summaries]
    heads = list(rows[0])
    lines = ["| " + " | ".join(heads) + " |", "|" + "|".join("---" for _ in heads) + "|"]
    lines += ["| " + " | ".join(str(r[h]) for h in heads) + " |" for r in rows]
    return "\n".join(lines) + "\n"
