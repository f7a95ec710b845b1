"""The episode runner: planners against environments, measured and recorded.

``run(config)`` plays every (environment, planner, seed) episode of a
:class:`RunConfig`, several at once (bounded by ``workers`` and by the chat
backend's own limits), and leaves in the run folder:

- ``episodes.jsonl``: one record per finished episode (:mod:`.records`),
  appended as each ends; an existing folder is resumed (episodes already
  recorded are not redone) unless ``overwrite``;
- ``manifest.json``: the resolved config, versions, git commit, the backend's
  description (the simulated LLM's config hash), the seeds;
- per episode, ``transcripts/<env>__<planner>__<seed>.jsonl`` and ``.html``
  (prompts, replies, feedback, plans, outcomes; the video embedded) and
  ``videos/<...>.mp4`` as asked;
- ``summary.md``: success rate, ES and NQ with standard errors per cell,
  infrastructure failures counted apart.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import brigade
from brigade import envs
from brigade.agents.ledger import Ledger, PriceTable
from brigade.agents.session import ChatSession
from brigade.chat import ChatModel, SamplingParams
from brigade.config import load_config
from brigade.critic import CriticState
from brigade.critics.learned import LearnedCritic
from brigade.critics.registry import build_critic
from brigade.errors import (
    BudgetExceededError,
    CacheMissError,
    ConfigError,
    InfrastructureError,
    NodeUnavailableError,
    ParseFailure,
    did_you_mean,
)
from brigade.media import VideoWriter
from brigade.plan import JointPlan, Outcome
from brigade.planner import Planner
from brigade.planners.bus_run import BusEpisodes, EpisodeNodes, NodeBackend
from brigade.planners.episode import NoChat, attach_expert, episode_chat
from brigade.planners.records import (
    EpisodeRecord,
    RecordWriter,
    Summary,
    latest_records,
    read_records,
    summarize,
    summary_markdown,
)
from brigade.planners.registry import PLANNERS
from brigade.planners.remote import BackendSettings, RelayedChat, RemotePlanner
from brigade.planners.transcripts import render_html, write_jsonl
from brigade.task_env import TaskEnv

VIDEO_MODES = ("first", "all", "none")


@dataclass
class RunConfig:
    """Settings of ``brigade run`` (see ``docs/cli.md``).

    Attributes:
        env: Environment id(s), comma-separated.
        planner: Planner name(s), comma-separated.
        llm: Chat backend: ``sim`` (the simulated LLM), ``openai`` or ``transformers``.
        model: The model (OpenAI-compatible: its name; transformers: a folder).
        episodes: Episodes per (environment, planner) cell.
        seed: Seed of the first episode (episode k uses ``seed + k``).
        out: The run folder (resumed if it exists); empty: ``runs/<time>-<env>``.
        overwrite: Start the folder afresh instead of resuming.
        video: ``first`` (first episode of each cell), ``all`` or ``none``.
        fps: Frames per second of the videos.
        cell_px: Pixels per grid cell in the videos.
        workers: Episodes at once (0: one for local backends, eight for servers).
        cache: Record/replay cache folder ("" for none).
        cache_mode: With ``cache``: ``readwrite`` (the default), ``replay`` (answers only
            from the cache; the backend is never built) or ``off``.
        base_url: OpenAI-compatible server URL (default: OPENAI_BASE_URL).
        temperature: Sampling temperature.
        max_tokens: Most tokens per reply.
        budget_usd: Spend cap of the run in USD (0: none).
        budget_tokens: Token cap of the run (0: none).
        task: Overrides of the tasks' settings (``task.step_limit=30``).
        planner_options: Overrides of the planners' settings (``planner.max_replans=2``).
        critic: The critic of the ReAd planners: a checkpoint folder, ``random``,
            ``constant``, ``oracle`` (controls), or empty for the one shipped per task.
        llm_options: Other settings of the backend (for the simulated LLM, its error
            model: ``llm_options.base_error=0.1``, which changes its hash).
    """

    env: str = "kitchen/cramped_room"
    planner: str = "expert"
    llm: str = "sim"
    model: str = ""
    episodes: int = 1
    seed: int = 0
    out: str = ""
    overwrite: bool = False
    video: str = "first"
    fps: int = 8
    cell_px: int = 64
    workers: int = 0
    cache: str = ""
    cache_mode: str = "readwrite"
    base_url: str = ""
    temperature: float = 0.0
    max_tokens: int = 512
    budget_usd: float = 0.0
    budget_tokens: int = 0
    task: dict[str, Any] = field(default_factory=dict)
    planner_options: dict[str, Any] = field(default_factory=dict)
    llm_options: dict[str, Any] = field(default_factory=dict)
    critic: str = ""

    @property
    def env_ids(self) -> list[str]:
        """The environment ids, resolved to their full versions."""
        return [envs.spec(e.strip()).id for e in self.env.split(",") if e.strip()]

    @property
    def planners(self) -> list[str]:
        """The planner names."""
        return [p.strip() for p in self.planner.split(",") if p.strip()]

    def validate(self) -> None:
        """Raise :class:`ConfigError` for bad values (unknown planners name the closest)."""
        for name in self.planners:
            PLANNERS.get(name)  # raises with a suggestion
        if self.episodes < 1:
            raise ConfigError("must be at least 1", key="episodes")
        if self.video not in VIDEO_MODES:
            raise ConfigError(f"must be one of {VIDEO_MODES}", key="video")
        if self.cell_px < 16:
            raise ConfigError("must be at least 16 pixels", key="cell_px")
        if self.fps < 1:
            raise ConfigError("must be at least 1", key="fps")
        if self.workers < 0:
            raise ConfigError("must not be negative", key="workers")
        self.env_ids  # noqa: B018 (resolves the ids, raising for unknown ones)


@dataclass
class RunResult:
    """What a run produced."""

    out: Path
    records: list[EpisodeRecord]
    summaries: list[Summary]
    stopped: str | None = None


def _git_state() -> tuple[str | None, bool | None]:
    """The checkout's commit and whether it has uncommitted changes (None: not a checkout)."""
    here = Path(__file__).resolve().parent

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", *args], capture_output=True, text=True, check=True, timeout=5, cwd=here
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain")
    sha = (commit.strip() or None) if commit else None
    dirty = bool(status.strip()) if status is not None else None
    return sha, dirty


def _versions() -> dict[str, str]:
    names = ("numpy", "numba", "pettingzoo", "gymnasium", "openai", "torch", "transformers", "av")
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def _slug(env_id: str, planner: str, seed: int) -> str:
    return f"{env_id.replace('/', '_')}__{planner}__{seed}"


def planner_config(name: str, planners: list[str], options: dict[str, Any]) -> Any:
    """The config of planner ``name``: shared options it has, then options given for it by name.

    Args:
        name: The planner.
        planners: Every planner of the run (an option must belong to one of them).
        options: ``{setting: value}`` for every planner that has it, or
            ``{planner: {setting: value}}`` for one.

    Raises:
        ConfigError: An option no chosen planner has (with the closest valid one).
    """
    entry = PLANNERS.get(name)
    fields = {f.name for f in dataclasses.fields(entry.config)}
    values: dict[str, Any] = {}
    chosen = {f.name for p in planners for f in dataclasses.fields(PLANNERS.get(p).config)}
    for key, value in options.items():
        if key in PLANNERS and isinstance(value, dict):
            if key == name:
                values.update(value)
        elif key in fields:
            values[key] = value
        elif key not in chosen:
            valid = sorted(chosen)
            raise ConfigError(
                f"no chosen planner has this setting{did_you_mean(key, valid)}; "
                f"settings: {', '.join(valid) or 'none'} (or planner.<name>.<setting>)",
                key=f"planner.{key}",
            )
    return load_config(entry.config, values=values) if values else entry.config()


class Runner:
    """Plays the episodes of one :class:`RunConfig` (see the module docstring).

    Args:
        config: The run.
        progress: Called with each finished episode's record.
        bus: Play every episode with its environment, planner and critic on
            these bus nodes (``brigade run --bus``) instead of in this process.
            The records are the same, timing aside.
    """

    def __init__(
        self,
        config: RunConfig,
        *,
        progress: Callable[[EpisodeRecord], None] | None = None,
        bus: EpisodeNodes | None = None,
    ):
        config.validate()
        if bus is not None and config.workers > 1:
            raise ConfigError(
                "on the bus one environment node plays one episode at a time: use workers=1",
                key="workers",
            )
        self.config = config
        self.progress = progress
        stamp = time.strftime("%Y%m%d-%H%M%S")
        first_env = config.env_ids[0].replace("/", "_")
        self.out = Path(config.out) if config.out else Path("runs") / f"{stamp}-{first_env}"
        self.run_id = self.out.name
        # Check every setting before anything runs: a typo must not surface in a
        # worker thread after the run folder exists.
        self.planner_configs = {
            p: planner_config(p, config.planners, config.planner_options) for p in config.planners
        }
        self.task_settings = {e: self._task_settings(e) for e in config.env_ids}
        self.critics: dict[str, dict[str, Any]] = {}
        if any(getattr(PLANNERS.get(p).factory, "needs_critic", False) for p in config.planners):
            self.critics = {e: self._check_critic(e) for e in config.env_ids}
        needs_llm = any(
            getattr(PLANNERS.get(p).factory, "needs_llm", True) for p in config.planners
        )
        self.bus: BusEpisodes | None = None
        if bus is not None:
            self.bus = BusEpisodes(
                bus,
                BackendSettings.of(config),
                run=self.run_id,
                needs_llm=needs_llm,
                critic=config.critic,
            )
        self.llm: ChatModel | NodeBackend | None = (
            self.bus.backend
            if self.bus is not None
            else BackendSettings.of(config).build()
            if needs_llm
            else None
        )
        self.nodes = bus
        prices = PriceTable()
        self.ledger = Ledger(
            prices,
            budget_usd=config.budget_usd or None,
            budget_tokens=config.budget_tokens or None,
        )
        self.params = SamplingParams(temperature=config.temperature, max_tokens=config.max_tokens)
        self._stop = threading.Event()
        self.stopped: str | None = None

    # ------------------------------------------------------------------ the run

    def _task_settings(self, env_id: str) -> dict[str, Any]:
        """The task's resolved settings (building the task once checks the overrides)."""
        env = envs.make_task(env_id, **self.config.task)
        return env.metadata()

    def _check_critic(self, env_id: str) -> dict[str, Any]:
        """Build the task's critic once: it must fit the task, and never have seen its seeds."""
        env = envs.make_task(env_id, **self.config.task)
        critic = build_critic(self.config.critic, env_id, env=env, seed=self.config.seed)
        if isinstance(critic, LearnedCritic):
            env.reset(self.config.seed)
            critic.check(CriticState.from_view(env.planner_view()))
            seen = critic.config.get("data_seeds", {}).get(env_id)
            first, last = self.config.seed, self.config.seed + self.config.episodes - 1
            if seen and first <= seen[1] and seen[0] <= last:
                raise ConfigError(
                    f"the critic {critic.hash} was trained on {env_id} episodes with seeds "
                    f"{seen[0]}..{seen[1]}; evaluate on other seeds (these are {first}..{last})",
                    key="seed",
                )
        return critic.describe()

    def pending_jobs(self) -> list[tuple[str, str, int, bool]]:
        """The episodes the run still has to play, given what its folder holds."""
        records = (
            []
            if self.config.overwrite
            else latest_records(read_records(self.out / "episodes.jsonl"))
        )
        # Episodes cut by the machinery (budget, rate limits...) are played again.
        done = {r.key for r in records if not r.infrastructure_failure}
        return self.jobs(done)

    def jobs(self, done: set[tuple[str, str, int]]) -> list[tuple[str, str, int, bool]]:
        """The episodes not in ``done``: (env, planner, seed, with video)."""
        jobs = []
        for env_id in self.config.env_ids:
            for planner in self.config.planners:
                for k in range(self.config.episodes):
                    seed = self.config.seed + k
                    video = self.config.video == "all" or (self.config.video == "first" and k == 0)
                    if (env_id, planner, seed) not in done:
                        jobs.append((env_id, planner, seed, video))
        return jobs

    def run(self) -> RunResult:
        """Play every missing episode; return the records of the whole folder.

        Finished episodes are written as they end, whatever happens to the
        others; the summary and the ledger are written even when the run stops
        on an error (which is raised afterwards).
        """
        cfg = self.config
        if cfg.overwrite and self.out.exists():
            for name in ("episodes.jsonl", "summary.md", "manifest.json", "ledger.json"):
                (self.out / name).unlink(missing_ok=True)
            for sub in ("transcripts", "videos"):
                shutil.rmtree(self.out / sub, ignore_errors=True)
        (self.out / "transcripts").mkdir(parents=True, exist_ok=True)
        (self.out / "videos").mkdir(exist_ok=True)
        path = self.out / "episodes.jsonl"
        jobs = self.pending_jobs()
        self._write_manifest(len(read_records(path)))
        writer = RecordWriter(path)
        workers = cfg.workers or (1 if cfg.llm in ("sim", "transformers") else 8)
        if self.bus is not None:
            workers = 1  # an environment node plays one episode at a time
        fatal: BaseException | None = None
        try:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                pending: set[Future[EpisodeRecord | None]] = set()
                queue = list(jobs)
                while queue or pending:
                    while queue and len(pending) < workers and not self._stop.is_set():
                        pending.add(pool.submit(self._episode, *queue.pop(0)))
                    if not pending:
                        break
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in finished:
                        try:
                            record = future.result()
                        except BaseException as exc:  # keep the others' records, then raise
                            self._stop.set()
                            fatal = fatal or exc
                            continue
                        if record is not None:
                            writer.write(record)
                            if self.progress:
                                self.progress(record)
        except BaseException as exc:  # Ctrl-C: the episodes in flight are lost, the rest kept
            self._stop.set()
            fatal = fatal or exc
        finally:
            if self.llm is not None:
                self.llm.close()
            if self.bus is not None:
                self.bus.close()
            result = self._finish(path)
        if fatal is not None:
            raise fatal
        return result

    def _finish(self, path: Path) -> RunResult:
        records = latest_records(read_records(path))
        summaries = summarize(records)
        text = self._summary_header() + summary_markdown(summaries)
        if self.stopped:
            text += f"\nThe run stopped early: {self.stopped}.\n"
        (self.out / "summary.md").write_text(text)
        ledger = {
            "totals": self.ledger.total().to_dict(),
            "by_run": {k: v.to_dict() for k, v in self.ledger.totals(by="run").items()},
            "by_episode": {k: v.to_dict() for k, v in self.ledger.totals(by="episode").items()},
            "by_agent": {k: v.to_dict() for k, v in self.ledger.totals(by="agent").items()},
        }
        (self.out / "ledger.json").write_text(json.dumps(ledger, indent=2, sort_keys=True))
        return RunResult(self.out, records, summaries, self.stopped)

    def _summary_header(self) -> str:
        if self.llm is None:
            return "LLM: none (no planner here asks one).\n\n"
        described = self.llm.describe()
        note = described.get("note")
        return f"LLM: {described.get('model')}" + (f" ({note})" if note else "") + ".\n\n"

    def fingerprint(self) -> dict[str, Any]:
        """What the episodes' results depend on besides the code (must match to resume)."""
        cfg = self.config
        return {
            "llm": cfg.llm,
            "model": cfg.model,
            "base_url": cfg.base_url,
            "temperature": cfg.temperature,
            "max_tokens": cfg.max_tokens,
            "task": cfg.task,
            "planner_options": cfg.planner_options,
            "llm_options": cfg.llm_options,
            "llm_model": self.llm.model if self.llm is not None else None,
            "critic": cfg.critic,
            "critics": {e: c.get("hash") for e, c in self.critics.items()},
        }

    def _write_manifest(self, resumed: int) -> None:
        cfg = self.config
        path = self.out / "manifest.json"
        previous = json.loads(path.read_text()) if path.exists() else None
        fingerprint = self.fingerprint()
        if previous is not None and resumed:
            old = previous.get("fingerprint", {})
            differ = sorted(
                k for k in set(old) | set(fingerprint) if old.get(k) != fingerprint.get(k)
            )
            if differ:
                raise ConfigError(
                    f"{self.out} holds episodes run with other settings ({', '.join(differ)}); "
                    "resume with the same settings, or start afresh with --overwrite",
                    key=differ[0],
                )
        commit, dirty = _git_state()
        session = {
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "git_commit": commit,
            "git_dirty": dirty,
            "brigade": brigade.__version__,
            "resumed_episodes": resumed,
        }
        sessions = [*previous.get("sessions", [])] if previous is not None else []
        if sessions and sessions[-1].get("git_commit") != commit:
            session["note"] = "the code changed since the previous session of this run"
        sessions.append(session)
        manifest = {
            **session,
            "python": platform.python_version(),
            "packages": _versions(),
            "config": asdict(cfg),
            "fingerprint": fingerprint,
            "envs": cfg.env_ids,
            "tasks": self.task_settings,
            "planners": {p: asdict(c) for p, c in self.planner_configs.items()},
            "seeds": [cfg.seed + k for k in range(cfg.episodes)],
            "llm": self.llm.describe() if self.llm is not None else None,
            "critics": self.critics,
            "bus": asdict(self.nodes) if self.nodes is not None else None,
            "sessions": sessions,
        }
        path.write_text(json.dumps(manifest, indent=2, default=str))

    # ------------------------------------------------------------------ one episode

    def _build_planner(self, name: str) -> Planner:
        return PLANNERS.build(name, self.planner_configs[name])

    def _episode(
        self, env_id: str, planner_name: str, seed: int, video: bool
    ) -> EpisodeRecord | None:
        if self._stop.is_set():
            return None
        cfg = self.config
        start = time.perf_counter()
        runner_options = {"cell_px": cfg.cell_px}
        accepted = envs.spec(env_id).runner_options
        extra = {key: value for key, value in runner_options.items() if key in accepted}
        env: TaskEnv
        planner: Planner
        chat: ChatSession | NoChat | RelayedChat
        options = {**cfg.task, "record_frames": video, **extra}
        slug = _slug(env_id, planner_name, seed)
        critic: dict[str, Any] | None = None
        if self.bus is None:
            parts = self._local_parts(env_id, planner_name, seed, slug, options)
            env, planner, chat, critic = parts
            start_text = env.describe()
        else:
            try:
                # The environment node gets the run's task options with each episode.
                env = self.bus.environment(env_id, options, seed)
                planner, chat = self.bus.planner(
                    planner_name, asdict(self.planner_configs[planner_name]), slug, self.ledger
                )
                start_text = env.describe()
            except NodeUnavailableError as exc:
                self._node_lost(exc)
                return None
        view = env.planner_view()
        chat.note("start", start_text)
        failure: str | None = None
        error: str | None = None
        outcome: Outcome | None = None
        video_name = f"videos/{slug}.mp4" if video else None
        writer = VideoWriter(self.out / video_name, fps=cfg.fps) if video_name else None
        try:
            planner.reset(view, chat, seed=seed)
            if isinstance(planner, RemotePlanner):
                critic = planner.critic
            while True:
                plan = planner.plan(view)
                outcome = env.execute(plan)
                planner.observe(plan, outcome)
                chat.note("step", _step_text(plan, outcome), step=env.step_count)
                if writer is not None and outcome.frames is not None:
                    for frame in outcome.frames:
                        writer.write(frame)
                if outcome.done:
                    break
        except ParseFailure as exc:
            failure, error = "parse", str(exc)
            chat.note("failure", error)
        except BudgetExceededError as exc:
            failure, error = exc.kind, str(exc)
            chat.note("failure", error)
            self.stopped = f"budget reached ({exc})"
            self._stop.set()
        except InfrastructureError as exc:
            failure, error = exc.kind, str(exc)
            chat.note("failure", error)
            if isinstance(exc, NodeUnavailableError):
                self._node_lost(exc)
        except CacheMissError:
            self._stop.set()
            raise
        finally:
            if writer is not None:
                writer.close(allow_empty=True)
                if not writer.frames_written:
                    video_name = None
        success = bool(outcome is not None and outcome.success and failure is None)
        if failure is None and not success:
            failure = "task"
        record = EpisodeRecord(
            env=env_id,
            planner=planner_name,
            llm=self.llm.model if (self.llm is not None and planner.needs_llm) else "none",
            seed=seed,
            success=success,
            env_steps=env.step_count,
            moves=int(outcome.info.get("moves_total", 0)) if outcome is not None else 0,
            llm_queries=chat.queries,
            llm_retries=chat.retries,
            tokens_in=chat.tokens_in,
            tokens_out=chat.tokens_out,
            cost_usd=round(chat.cost_usd, 6),
            wall_s=round(time.perf_counter() - start, 3),
            failure_kind=failure,
            prompt_versions=planner.prompt_versions(),
            prompts_hash=_prompts_hash(planner.prompt_versions()),
            sim_config_hash=self._sim_hash() if planner.needs_llm else None,
            score=self._score(env),
            step_limit=env.step_limit,
            planner_stats=dict(planner.stats()),
            error=error,
            transcript=f"transcripts/{slug}.html",
            video=video_name,
            critic=critic,
        )
        self._write_transcript(slug, record, chat, video_name)
        return record

    def _local_parts(
        self, env_id: str, planner_name: str, seed: int, slug: str, options: dict[str, Any]
    ) -> tuple[TaskEnv, Planner, ChatSession | NoChat, dict[str, Any] | None]:
        """An episode's environment, planner, chat and critic, built in this process."""
        env = envs.make_task(env_id, **options)
        env.reset(seed)
        planner = self._build_planner(planner_name)
        llm = self.llm if isinstance(self.llm, ChatModel) else None
        chat = episode_chat(
            planner, llm, self.ledger, self.params, seed=seed, run=self.run_id, episode=slug
        )
        attach_expert(planner, env)  # only the ceiling reads the ground truth
        described = None
        if getattr(planner, "needs_critic", False):
            critic = build_critic(self.config.critic, env_id, env=env, seed=seed)
            planner.attach_critic(critic)  # type: ignore[attr-defined]
            described = critic.describe()
        return env, planner, chat, described

    def _node_lost(self, exc: NodeUnavailableError) -> None:
        """Stop the run: later episodes would wait on the lost node in vain."""
        self.stopped = f"a node is unavailable ({str(exc).splitlines()[0]})"
        self._stop.set()

    def _score(self, env: TaskEnv) -> float:
        """The episode's score (0 for tasks without one)."""
        if self.bus is not None:
            try:
                return self.bus.score()
            except InfrastructureError:
                return 0.0  # the node is gone: the record keeps what was measured
        return float(getattr(env, "score", 0.0))

    def _sim_hash(self) -> str | None:
        if self.llm is None:
            return None
        described = self.llm.describe()
        value = described.get("config_hash")
        return str(value) if value is not None else None

    def _write_transcript(
        self,
        slug: str,
        record: EpisodeRecord,
        chat: ChatSession | NoChat | RelayedChat,
        video: str | None,
    ) -> None:
        entries = [{"kind": e.kind, "data": e.data, "t": e.t} for e in chat.entries]
        write_jsonl(self.out / "transcripts" / f"{slug}.jsonl", entries)
        note = ""
        if self.llm is not None and record.llm != "none":
            described = self.llm.describe()
            note = str(described.get("note", f"LLM: {described.get('model')}"))
        summary = {
            "environment": record.env,
            "planner": record.planner,
            "seed": record.seed,
            "success": record.success,
            "environment steps": record.env_steps,
            "LLM queries": record.llm_queries,
            "failure": record.failure_kind or "-",
        }
        page = render_html(
            f"{record.env} · {record.planner} · seed {record.seed}",
            entries,
            summary=summary,
            video=f"../{video}" if video else None,
            note=note,
        )
        (self.out / "transcripts" / f"{slug}.html").write_text(page)


def _step_text(plan: JointPlan, outcome: Outcome) -> str:
    lines = [a.to_text() for a in plan.actions]
    lines.append(f"-> {outcome.steps} moves, reward {outcome.reward:g}")
    lines += [f"   {fb}" for fb in outcome.feedback]
    if outcome.success:
        lines.append("   the task is done")
    elif outcome.truncated:
        lines.append("   the step limit is reached")
    return "\n".join(lines)


def _prompts_hash(versions: dict[str, str]) -> str:
    import hashlib

    text = json.dumps(versions, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12] if versions else ""


def run(config: RunConfig, *, progress: Callable[[EpisodeRecord], None] | None = None) -> RunResult:
    """Play the episodes of ``config`` (see :class:`Runner`)."""
    return Runner(config, progress=progress).run()
