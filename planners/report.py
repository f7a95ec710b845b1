"""Comparing run folders: SR, ES and NQ with 95% confidence intervals, as tables and plots.

``brigade report RUN...`` reads the episode records of one or more run
folders and groups them into cells: (task, start mode, planner, critic). The
start mode comes from the run's manifest (``task.start``). The critic's kind
is added to the planner's label for the controls (``read-j [random]``) and for
learned critics that never saw the task (``read-j [critic of 3 other layouts]``).

- **Intervals.** Each interval is a percentile bootstrap (10,000 resamples of
  the cell's episodes, seeded), the same method for a rate as for a count.
  Episodes that ended on an infrastructure failure are left out, as in every
  summary.
- **Pairing.** Cells of one task and start mode share their seeds, so
  differences between planners are paired.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from brigade.errors import BrigadeError
from brigade.planners.records import EpisodeRecord, latest_records, read_records

METRICS = ("SR", "ES", "NQ")


@dataclass(frozen=True)
class Interval:
    """A mean with its 95% bootstrap interval."""

    mean: float
    low: float
    high: float

    def text(self, digits: int) -> str:
        """``mean [low, high]``."""
        return f"{self.mean:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


@dataclass(frozen=True)
class Cell:
    """One (task, start, planner) cell of a comparison."""

    env: str
    start: str
    planner: str
    episodes: int
    seeds: tuple[int, ...]
    sr: Interval
    es: Interval
    nq: Interval

    def metric(self, name: str) -> Interval:
        """``SR``, ``ES`` or ``NQ``."""
        return {"SR": self.sr, "ES": self.es, "NQ": self.nq}[name]


def bootstrap(values: Sequence[float], *, resamples: int = 10_000, seed: int = 0) -> Interval:
    """The mean of ``values`` and its 95% percentile-bootstrap interval."""
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        return Interval(float("nan"), float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(resamples, data.size))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return Interval(float(data.mean()), float(low), float(high))


def _label(record: EpisodeRecord) -> str:
    critic = record.critic or {}
    kind = critic.get("kind")
    if kind in ("random", "constant", "oracle"):
        return f"{record.planner} [{kind}]"
    seen = critic.get("envs")
    if kind == "learned" and seen and record.env not in seen:
        count = len(seen)
        return f"{record.planner} [critic of {count} other layout{'s' if count > 1 else ''}]"
    return record.planner


def _run_config(run: Path) -> dict[str, Any]:
    manifest = run / "manifest.json"
    if not manifest.exists():
        return {}
    config: dict[str, Any] = json.loads(manifest.read_text()).get("config", {})
    return config


def _start(run: Path) -> str:
    return str(_run_config(run).get("task", {}).get("start", "standard"))


def _options(run: Path) -> str:
    """The run's planner options as a label suffix (``{optimism=1.0}``), or empty."""
    options = _run_config(run).get("planner_options", {})
    flat = [f"{k}={v}" for k, v in sorted(options.items()) if not isinstance(v, dict)]
    return f" {{{', '.join(flat)}}}" if flat else ""


def load_cells(runs: Iterable[Path | str]) -> list[Cell]:
    """Cells of every record of the run folders.

    Raises:
        BrigadeError: A folder holds no records.
    """
    # (env, start, label, critic hash) -> seed -> record: an episode given twice (the
    # same folder passed twice, or two runs of one cell) counts once, the later one.
    found: dict[tuple[str, str, str, str], dict[int, EpisodeRecord]] = {}
    for run in map(Path, runs):
        records = latest_records(read_records(run / "episodes.jsonl"))
        if not records:
            raise BrigadeError(f"{run} holds no episode records (episodes.jsonl)")
        start, options = _start(run), _options(run)
        for record in records:
            if record.infrastructure_failure:
                continue
            digest = str((record.critic or {}).get("hash", ""))
            key = (record.env, start, _label(record) + options, digest)
            found.setdefault(key, {})[record.seed] = record
    # Two learned critics in one cell are told apart by their hashes.
    hashes: dict[tuple[str, str, str], set[str]] = {}
    for env, start, label, digest in found:
        hashes.setdefault((env, start, label), set()).add(digest)
    groups: dict[tuple[str, str, str], list[EpisodeRecord]] = {}
    for (env, start, label, digest), by_seed in found.items():
        if len(hashes[(env, start, label)]) > 1:
            label = f"{label} <{digest or 'none'}>"
        groups[(env, start, label)] = list(by_seed.values())
    cells = []
    for (env, start, planner), group in sorted(groups.items()):
        group.sort(key=lambda r: r.seed)
        cells.append(
            Cell(
                env,
                start,
                planner,
                len(group),
                tuple(r.seed for r in group),
                bootstrap([float(r.success) for r in group]),
                bootstrap([float(r.env_steps) for r in group]),
                bootstrap([float(r.llm_queries) for r in group]),
            )
        )
    return cells


def markdown(cells: Sequence[Cell], order: Sequence[str] = ()) -> str:
    """One table per (task, start): SR, ES, NQ with their 95% intervals."""
    rank = {name: k for k, name in enumerate(order)}
    out = []
    for env, start in dict.fromkeys((c.env, c.start) for c in cells):
        rows = [c for c in cells if (c.env, c.start) == (env, start)]
        rows.sort(key=lambda c: (rank.get(c.planner, len(rank)), c.planner))
        counts = sorted({c.episodes for c in rows})
        seeds = str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
        out.append(f"### `{env}`, {start} start ({seeds} seeds)\n")
        out.append("| planner | SR | ES | NQ |")
        out.append("|---|---:|---:|---:|")
        for c in rows:
            out.append(f"| {c.planner} | {c.sr.text(2)} | {c.es.text(1)} | {c.nq.text(1)} |")
        out.append("")
    return "\n".join(out)


def targets(
    cells: Sequence[Cell],
    baselines: Sequence[str],
    candidate: str = "read-j",
    es_ratio: float = 0.8,
) -> str:
    """ReAd's targets per (task, start), as a Markdown table.

    For each task and start mode, the best baseline is the one with the highest
    success rate, then the fewest steps. ``candidate`` must reach at least its
    success rate with at most ``es_ratio`` times its ES.
    """
    out = [
        f"| task | start | best baseline (SR, ES) | {candidate} (SR, ES) | ES ratio | SR ≥ | "
        f"ES ≤ {es_ratio:g}x |",
        "|---|---|---|---|---:|:---:|:---:|",
    ]
    for env, start in dict.fromkeys((c.env, c.start) for c in cells):
        group = {c.planner: c for c in cells if (c.env, c.start) == (env, start)}
        base = [group[b] for b in baselines if b in group]
        if candidate not in group or not base:
            continue
        best = min(base, key=lambda c: (-c.sr.mean, c.es.mean))
        mine = group[candidate]
        ratio = mine.es.mean / best.es.mean
        out.append(
            f"| `{env}` | {start} | {best.planner} ({best.sr.mean:.2f}, {best.es.mean:.1f}) | "
            f"{mine.sr.mean:.2f}, {mine.es.mean:.1f} | {ratio:.2f} | "
            f"{'yes' if mine.sr.mean >= best.sr.mean else 'no'} | "
            f"{'yes' if ratio <= es_ratio else 'no'} |"
        )
    return "\n".join(out) + "\n"


def plot(cells: Sequence[Cell], path: Path, order: Sequence[str] = ()) -> Path:
    """Bar charts of SR, ES and NQ per task and start, with 95% error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = list(dict.fromkeys((c.env, c.start) for c in cells))
    rank = {name: k for k, name in enumerate(order)}
    fig, axes = plt.subplots(
        len(panels), 3, figsize=(15, 3.2 * len(panels)), squeeze=False, constrained_layout=True
    )
    for row, (env, start) in enumerate(panels):
        group = [c for c in cells if (c.env, c.start) == (env, start)]
        group.sort(key=lambda c: (rank.get(c.planner, len(rank)), c.planner))
        names = [c.planner for c in group]
        for col, metric in enumerate(METRICS):
            ax = axes[row][col]
            values = [c.metric(metric) for c in group]
            means = np.array([v.mean for v in values])
            errors = np.array([[v.mean - v.low for v in values], [v.high - v.mean for v in values]])
            # ReAd with its learned critic in red; baselines, controls and the ceiling in grey.
            colours = [
                "tab:red" if n.startswith("read") and "[" not in n else "tab:grey" for n in names
            ]
            ax.bar(range(len(names)), means, yerr=errors, color=colours, capsize=3)
            ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=7)
            ax.set_title(f"{env} ({start}): {metric}", fontsize=9)
            if metric == "SR":
                ax.set_ylim(0, 1.05)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
