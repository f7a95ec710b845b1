"""Running episodes of a skill-level environment and keeping what a person wants to see.

Every run leaves, in its own folder: ``manifest.json`` (the config, the task's
settings, versions), ``episodes.jsonl`` (one record per episode),
``transcript.md`` (each step's plan, feedback and reward), ``summary.md`` and,
when asked, an H.264 video per episode.

Until the LLM planners land, the scripted expert is the planner.
"""

from __future__ import annotations

import contextlib
import json
import platform
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import brigade
from brigade import envs
from brigade.errors import ConfigError
from brigade.media import VideoWriter

PLANNERS = ("expert",)


@dataclass
class RunConfig:
    """Settings of ``brigade run``.

    Attributes:
        env: The environment id.
        planner: Who plans (``expert``: the scripted expert).
        episodes: Episodes to run.
        seed: Seed of the first episode (episode k uses ``seed + k``).
        out: Folder under which each run gets its own folder.
        video: Save a video of each episode.
        fps: Frames per second of the videos (one frame per move).
        cell_px: Pixels per grid cell in the videos.
        task: Overrides of the task's settings (``task.step_limit=50``...).
    """

    env: str = "kitchen/cramped_room"
    planner: str = "expert"
    episodes: int = 1
    seed: int = 0
    out: str = "runs"
    video: bool = True
    fps: int = 8
    cell_px: int = 64
    task: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        """Raise :class:`ConfigError` for bad values."""
        if self.planner not in PLANNERS:
            raise ConfigError(
                f"unknown planner {self.planner!r}; planners: {PLANNERS}", key="planner"
            )
        if self.episodes < 1:
            raise ConfigError("must be at least 1", key="episodes")
        if self.fps < 1:
            raise ConfigError("must be at least 1", key="fps")
        if self.cell_px < 16:
            raise ConfigError("must be at least 16 pixels", key="cell_px")


@dataclass
class EpisodeRecord:
    """The outcome of one episode."""

    episode: int
    seed: int
    success: bool
    steps: int
    moves: int
    score: float
    delivered: int
    terminated: bool
    truncated: bool
    seconds: float
    video: str | None = None


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def run_episodes(
    config: RunConfig, console: Console | None = None
) -> tuple[Path, list[EpisodeRecord]]:
    """Run the episodes of ``config``; return the run folder and the records."""
    console = console or Console()
    spec = envs.spec(config.env)
    env = envs.make_task(
        spec.id, **{"cell_px": config.cell_px, "record_frames": config.video, **config.task}
    )
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run_dir = Path(config.out) / f"{stamp}-{spec.id.replace('/', '_')}"
    suffix = 1
    while run_dir.exists():
        suffix += 1
        run_dir = Path(config.out) / f"{stamp}-{spec.id.replace('/', '_')}-{suffix}"
    run_dir.mkdir(parents=True)
    manifest = {
        "brigade": brigade.__version__,
        "git_commit": _git_commit(),
        "python": platform.python_version(),
        "config": asdict(config),
        "env": env.metadata(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    (run_dir / "manifest.json").write_text(json.dumps(manifest, indent=2))
    records: list[EpisodeRecord] = []
    transcript = run_dir / "transcript.md"
    transcript.write_text(f"# {spec.id}: {config.episodes} episode(s), planner {config.planner}\n")
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=console,
    )
    with progress, (run_dir / "episodes.jsonl").open("w") as episodes_file:
        bar = progress.add_task(spec.id, total=config.episodes, status="")
        for k in range(config.episodes):
            record = _run_one(env, config, k, run_dir, transcript)
            records.append(record)
            episodes_file.write(json.dumps(asdict(record)) + "\n")
            episodes_file.flush()
            done = sum(r.success for r in records)
            progress.update(bar, advance=1, status=f"success {done}/{len(records)}")
    (run_dir / "summary.md").write_text(_summary_markdown(spec.id, records))
    console.print(_summary_table(spec.id, records))
    console.print(f"Run folder: [bold]{run_dir}[/bold]")
    return run_dir, records


def _run_one(env: Any, config: RunConfig, k: int, run_dir: Path, transcript: Path) -> EpisodeRecord:
    """Play one episode; each step's lines reach the transcript as soon as it ends."""
    seed = config.seed + k
    env.reset(seed)
    start = time.perf_counter()
    outcome = None
    with transcript.open("a") as out, contextlib.ExitStack() as stack:
        out.write(f"\n## Episode {k} (seed {seed})\n\n```text\n{env.describe()}\n```\n\n")
        writer = None
        if config.video:
            # A context manager, so an error inside the episode is the one reported.
            writer = stack.enter_context(
                VideoWriter(run_dir / f"episode_{k:03d}.mp4", fps=config.fps)
            )
        while True:
            plan = env.expert_plan()
            outcome = env.execute(plan)
            if writer is not None and outcome.frames is not None:
                for frame in outcome.frames:
                    writer.write(frame)
            moves = "move" if outcome.steps == 1 else "moves"
            lines = [
                f"**Step {env.step_count}** ({outcome.steps} {moves}, reward {outcome.reward:g})",
                "",
            ]
            lines += [f"    {line}" for line in plan.to_text().splitlines()]
            lines += [f"- {fb}" for fb in outcome.feedback]
            out.write("\n".join(lines) + "\n\n")
            out.flush()
            if outcome.done:
                break
        result = "success" if outcome.success else "failure"
        out.write(f"**Episode {k}: {result}** after {env.step_count} steps, score {env.score:g}.\n")
    assert outcome is not None
    return EpisodeRecord(
        episode=k,
        seed=seed,
        success=outcome.success,
        steps=env.step_count,
        moves=int(outcome.info.get("moves_total", 0)),
        score=env.score,
        delivered=env.delivered,
        terminated=outcome.terminated,
        truncated=outcome.truncated,
        seconds=round(time.perf_counter() - start, 3),
        video=f"episode_{k:03d}.mp4" if config.video else None,
    )


def _summary_rows(records: list[EpisodeRecord]) -> list[tuple[str, str]]:
    n = len(records)
    ok = [r for r in records if r.success]

    def mean(xs: list[float] | list[int]) -> float:
        return sum(xs) / len(xs) if xs else float("nan")

    return [
        ("episodes", str(n)),
        ("success rate", f"{len(ok) / n:.2f}"),
        ("environment steps (mean)", f"{mean([r.steps for r in records]):.1f}"),
        ("moves (mean)", f"{mean([r.moves for r in records]):.1f}"),
        ("score (mean)", f"{mean([r.score for r in records]):.1f}"),
    ]


def _summary_table(env_id: str, records: list[EpisodeRecord]) -> Table:
    table = Table(title=env_id)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in _summary_rows(records):
        table.add_row(name, value)
    return table


def _summary_markdown(env_id: str, records: list[EpisodeRecord]) -> str:
    lines = [f"# {env_id}", "", "| metric | value |", "|---|---:|"]
    lines += [f"| {name} | {value} |" for name, value in _summary_rows(records)]
    return "\n".join(lines) + "\n"
