"""``brigade collect``: log episodes of any planner as critic training data.

The data format is the critics' (:mod:`brigade.critics.data`); the loop lives here,
beside the episode runner, because it drives planners.

ReAd learns its critic from LLM-planned episodes (the simulated LLM with
verification feedback by default, as in the paper), widened with rollouts
from deliberately unusual states. Each episode of a collection picks a
planner and a start mode in turn:

- ``standard``: the task's own start;
- ``random``: the task's random start (the kitchen's ``start=random``: chefs
  on random cells);
- ``perturbed``: the standard start, then a few random legal joint actions
  played before logging begins (a perturbed snapshot of the task's course).

Collection seeds start at :data:`~brigade.critics.data.COLLECT_SEED_BASE`, so
they never coincide with evaluation seeds (the runner's, below it); the chat
session's per-query seeds derive from the episode seed, so the LLM's replies
differ from any evaluation episode's too.

Every finished episode is written at once (:mod:`.data`); an existing folder
is resumed: episodes already on disk are not collected again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from brigade import envs
from brigade.action import Action
from brigade.agents.backends import build_llm
from brigade.agents.ledger import Ledger, PriceTable
from brigade.chat import ChatModel, SamplingParams
from brigade.critics.data import (
    COLLECT_SEED_BASE,
    EpisodeKey,
    StepRow,
    episode_path,
    write_episode,
    write_meta,
)
from brigade.errors import ConfigError, InfrastructureError, ParseFailure
from brigade.plan import JointPlan
from brigade.planners.episode import attach_expert, episode_chat
from brigade.planners.registry import PLANNERS
from brigade.planners.runner import planner_config
from brigade.task_env import TaskEnv

START_MODES = ("standard", "random", "perturbed")


@dataclass
class CollectConfig:
    """Settings of ``brigade collect``.

    Attributes:
        env: Environment id.
        planner: Planner name(s), comma-separated; episodes cycle through them.
        start: Start mode(s), comma-separated (``standard``, ``random``,
            ``perturbed``); episodes cycle through them.
        episodes: Episodes to collect in all.
        seed: Seed of the first episode (at least ``COLLECT_SEED_BASE``).
        out: The data folder (resumed if it exists).
        perturb_steps: Most random joint actions played before a perturbed start.
        llm: Chat backend of the LLM planners.
        temperature: Sampling temperature.
        task: Overrides of the task's settings.
        planner_options: Overrides of the planners' settings.
        llm_options: Settings of the backend.
    """

    env: str = "kitchen/cramped_room"
    planner: str = "central"
    start: str = "standard,random,perturbed"
    episodes: int = 100
    seed: int = COLLECT_SEED_BASE
    out: str = "data/critic"
    perturb_steps: int = 4
    llm: str = "sim"
    temperature: float = 0.0
    task: dict[str, Any] = field(default_factory=dict)
    planner_options: dict[str, Any] = field(default_factory=dict)
    llm_options: dict[str, Any] = field(default_factory=dict)

    @property
    def planners(self) -> list[str]:
        """The planner names."""
        return [p.strip() for p in self.planner.split(",") if p.strip()]

    @property
    def starts(self) -> list[str]:
        """The start modes."""
        return [s.strip() for s in self.start.split(",") if s.strip()]

    def validate(self) -> None:
        """Raise :class:`ConfigError` for bad values."""
        envs.spec(self.env)
        if not self.planners:
            raise ConfigError("name at least one planner", key="planner")
        for name in self.planners:
            if getattr(PLANNERS.get(name).factory, "needs_critic", False):
                raise ConfigError(
                    f"{name} needs a critic; collect with a planner that does not "
                    "(the critic learns from their episodes)",
                    key="planner",
                )
        for mode in self.starts:
            if mode not in START_MODES:
                raise ConfigError(f"must be among {START_MODES}, not {mode!r}", key="start")
        if not self.starts:
            raise ConfigError("name at least one start mode", key="start")
        if self.episodes < 1:
            raise ConfigError("must be at least 1", key="episodes")
        if self.seed < COLLECT_SEED_BASE:
            raise ConfigError(
                f"collection seeds start at {COLLECT_SEED_BASE:,} so that they never "
                f"coincide with evaluation seeds (below it); got {self.seed}",
                key="seed",
            )
        if self.perturb_steps < 1:
            raise ConfigError("must be at least 1", key="perturb_steps")

    def jobs(self) -> list[EpisodeKey]:
        """Every episode of the collection, in order."""
        env_id = envs.spec(self.env).id
        planners, starts = self.planners, self.starts
        return [
            EpisodeKey(
                env_id,
                planners[k % len(planners)],
                starts[(k // len(planners)) % len(starts)],
                self.seed + k,
            )
            for k in range(self.episodes)
        ]


@dataclass
class CollectResult:
    """What a collection did."""

    out: Path
    collected: int
    skipped: int
    steps: int
    successes: int
    failures: dict[str, int]


class Collector:
    """Runs a :class:`CollectConfig` (see the module docstring)."""

    def __init__(self, config: CollectConfig, *, llm: ChatModel | None = None):
        """Check ``config``; ``llm`` replaces the backend it names (for tests and tools)."""
        config.validate()
        self.config = config
        self.out = Path(config.out)
        self.env_id = envs.spec(config.env).id
        self.planner_configs = {
            name: planner_config(name, config.planners, config.planner_options)
            for name in config.planners
        }
        for mode in config.starts:  # a start mode the task lacks fails now, not mid-run
            self._make_env(mode)
        needs_llm = any(
            getattr(PLANNERS.get(p).factory, "needs_llm", True) for p in config.planners
        )
        self.llm: ChatModel | None = llm
        if self.llm is None and needs_llm:
            self.llm = build_llm(config.llm, options=config.llm_options)
        self.ledger = Ledger(PriceTable())
        self.params = SamplingParams(temperature=config.temperature)

    def _make_env(self, mode: str) -> TaskEnv:
        task = dict(self.config.task)
        if mode == "random":
            task["start"] = "random"
        try:
            return envs.make_task(self.env_id, **task)
        except ConfigError as exc:
            if mode == "random" and exc.key == "start":
                raise ConfigError(
                    f"{self.env_id} has no random start; use the start modes standard, perturbed",
                    key="start",
                ) from None
            raise

    def run(self, progress: Callable[[EpisodeKey, int], None] | None = None) -> CollectResult:
        """Collect every episode not yet on disk; ``progress(key, steps)`` after each."""
        cfg = self.config
        fingerprint = self.fingerprint()
        self._check_resume(fingerprint)
        meta = {
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "config": asdict(cfg),
            "env": self.env_id,
            "fingerprint": fingerprint,
            "llm": self.llm.describe() if self.llm is not None else None,
        }
        write_meta(self.out, meta)
        collected = skipped = steps = successes = 0
        failures: dict[str, int] = {}
        try:
            for key in cfg.jobs():
                if episode_path(self.out, key).exists():
                    skipped += 1
                    if progress:
                        progress(key, 0)
                    continue
                rows, failure = self.episode(key)
                if failure:
                    failures[failure] = failures.get(failure, 0) + 1
                if failure == "budget":
                    break  # nothing more can be asked: stop cleanly with what is on disk
                # An episode cut by the machinery (rate limit, timeout, server) is not
                # written, so a resumed collection plays it again; neither is one that
                # ended before its first step (nothing to learn from).
                if (failure and failure != "parse") or not rows:
                    if progress:
                        progress(key, 0)
                    continue
                llm = self.llm.model if self.llm is not None else "none"
                write_episode(self.out, key, rows, llm=llm)
                collected += 1
                steps += len(rows)
                successes += bool(rows[-1].success)
                if progress:
                    progress(key, len(rows))
        finally:
            if self.llm is not None:
                self.llm.close()
        return CollectResult(self.out, collected, skipped, steps, successes, failures)

    def fingerprint(self) -> dict[str, Any]:
        """What the logged episodes depend on besides their keys (must match to resume)."""
        cfg = self.config
        return {
            "llm": cfg.llm,
            "llm_model": self.llm.model if self.llm is not None else None,
            "temperature": cfg.temperature,
            "task": cfg.task,
            "planner_options": cfg.planner_options,
            "llm_options": cfg.llm_options,
            "perturb_steps": cfg.perturb_steps,
        }

    def _check_resume(self, fingerprint: dict[str, Any]) -> None:
        """Refuse to add episodes of other settings to a folder that holds this task's."""
        path = self.out / "meta.json"
        if not path.exists():
            return
        for old in json.loads(path.read_text()).get("collections", []):
            if old.get("env") != self.env_id or "fingerprint" not in old:
                continue
            previous = old["fingerprint"]
            differ = sorted(
                k for k in set(previous) | set(fingerprint) if previous.get(k) != fingerprint.get(k)
            )
            if differ:
                raise ConfigError(
                    f"{self.out} holds {self.env_id} episodes collected with other settings "
                    f"({', '.join(differ)}); collect into another folder",
                    key=differ[0],
                )

    def episode(self, key: EpisodeKey) -> tuple[list[StepRow], str | None]:
        """Play and log one episode; return its rows and why it ended early, if it did."""
        env = self._make_env(key.start)
        env.reset(key.seed)
        rng = np.random.default_rng(key.seed)
        if key.start == "perturbed":
            for _ in range(int(rng.integers(1, self.config.perturb_steps + 1))):
                plan = JointPlan(
                    tuple(_random_choice(env.legal_actions(a), rng) for a in env.agents)
                )
                if env.execute(plan).done:
                    env.reset(key.seed)  # the perturbation ended the episode: start over
                    break
        planner = PLANNERS.build(key.planner, self.planner_configs[key.planner])
        chat = episode_chat(
            planner, self.llm, self.ledger, self.params, seed=key.seed, episode=key.slug
        )
        attach_expert(planner, env)
        expert_plan = getattr(env, "expert_plan", None)  # labels for the held-out report
        view = env.planner_view()
        rows: list[StepRow] = []
        failure: str | None = None
        try:
            planner.reset(view, chat, seed=key.seed)
            while True:
                agents = env.agents
                features = np.array(env.features(), dtype=np.float32, copy=True)
                snippets = env.agent_snippets()
                progress = env.progress()
                expert = expert_plan() if callable(expert_plan) else None
                legal = tuple(tuple(a.command for a in env.legal_actions(x)) for x in agents)
                plan = planner.plan(view)
                outcome = env.execute(plan)
                planner.observe(plan, outcome)
                rows.append(
                    StepRow(
                        step=env.step_count - 1,
                        agents=agents,
                        features=features,
                        snippets=tuple(snippets.get(a, a) for a in agents),
                        actions=tuple(plan.for_agent(a).command for a in agents),
                        expert_actions=(
                            tuple(expert.for_agent(a).command for a in agents) if expert else ()
                        ),
                        legal_actions=legal,
                        reward=float(outcome.reward),
                        shaped_reward=float(outcome.info.get("shaped_reward", 0.0)),
                        progress=float(progress),
                        progress_next=float(env.progress()),
                        next_features=np.array(env.features(), dtype=np.float32, copy=True),
                        next_snippets=tuple(env.agent_snippets().get(a, a) for a in agents),
                        terminated=outcome.terminated,
                        truncated=outcome.truncated,
                        success=outcome.success,
                    )
                )
                if outcome.done:
                    break
        except ParseFailure:
            failure = "parse"
        except InfrastructureError as exc:
            failure = exc.kind
        if failure and rows:
            # Cut short by the planner or the machinery: the task went on, so the
            # episode is truncated, not terminated (its value is bootstrapped).
            rows[-1].truncated = True
        return rows, failure


def _random_choice(actions: list[Action], rng: np.random.Generator) -> Action:
    return actions[int(rng.integers(len(actions)))]


def collect(
    config: CollectConfig, progress: Callable[[EpisodeKey, int], None] | None = None
) -> CollectResult:
    """Run a collection (see :class:`Collector`)."""
    return Collector(config).run(progress)
