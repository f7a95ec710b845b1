"""Critic data on disk: one Parquet file per logged episode, one row per step.

Layout of a data folder::

    DATA/meta.json                       schema version, what was collected, how
    DATA/episodes/<env>__<planner>__<start>__<seed>.parquet

Each episode file is written whole to a temporary name and renamed into
place, so a killed collection leaves every finished episode readable and no
half-written file under its final name. A row holds the state before the
step (feature vector, each agent's text snippet, progress, the expert's
joint action and each agent's legal actions, for reports), the joint action
taken (one command per agent, in planning order) and what it did (reward,
shaped reward, progress after, ``terminated`` and ``truncated`` kept apart).

Parquet through pyarrow: columnar, typed, compressed and readable by every
data tool, which a hand-rolled format would not be.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from brigade.errors import BrigadeError

SCHEMA_VERSION = 1

#: Collection seeds start here; evaluation seeds stay below it.
COLLECT_SEED_BASE = 1_000_000

SCHEMA = pa.schema(
    [
        ("episode", pa.string()),
        ("env", pa.string()),
        ("planner", pa.string()),
        ("start", pa.string()),
        ("seed", pa.int64()),
        ("step", pa.int32()),
        ("agents", pa.list_(pa.string())),
        ("features", pa.list_(pa.float32())),
        ("snippets", pa.list_(pa.string())),
        ("actions", pa.list_(pa.string())),
        ("expert_actions", pa.list_(pa.string())),
        ("legal_actions", pa.list_(pa.list_(pa.string()))),
        ("reward", pa.float32()),
        ("shaped_reward", pa.float32()),
        ("progress", pa.float32()),
        ("progress_next", pa.float32()),
        ("next_features", pa.list_(pa.float32())),
        ("next_snippets", pa.list_(pa.string())),
        ("terminated", pa.bool_()),
        ("truncated", pa.bool_()),
        ("success", pa.bool_()),
        ("llm", pa.string()),
    ],
    metadata={"brigade.schema_version": str(SCHEMA_VERSION)},
)


class DataError(BrigadeError):
    """Critic data that cannot be read or used (the message says which file and why)."""


@dataclass
class StepRow:
    """One logged step (a row of an episode file)."""

    step: int
    agents: tuple[str, ...]
    features: np.ndarray
    snippets: tuple[str, ...]
    actions: tuple[str, ...]
    expert_actions: tuple[str, ...]
    legal_actions: tuple[tuple[str, ...], ...]
    reward: float
    shaped_reward: float
    progress: float
    progress_next: float
    next_features: np.ndarray
    next_snippets: tuple[str, ...]
    terminated: bool
    truncated: bool
    success: bool


@dataclass(frozen=True)
class EpisodeKey:
    """What names a logged episode."""

    env: str
    planner: str
    start: str
    seed: int

    @property
    def slug(self) -> str:
        """The episode's file stem."""
        return f"{self.env.replace('/', '_')}__{self.planner}__{self.start}__{self.seed}"


def episode_path(data: Path, key: EpisodeKey) -> Path:
    """Where an episode's file lives."""
    return data / "episodes" / f"{key.slug}.parquet"


def write_episode(data: Path, key: EpisodeKey, rows: Sequence[StepRow], *, llm: str) -> Path:
    """Write one episode atomically (a temporary file, then a rename); return its path."""
    path = episode_path(data, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    columns: dict[str, list[Any]] = {name: [] for name in SCHEMA.names}
    for row in rows:
        columns["episode"].append(key.slug)
        columns["env"].append(key.env)
        columns["planner"].append(key.planner)
        columns["start"].append(key.start)
        columns["seed"].append(key.seed)
        columns["step"].append(row.step)
        columns["agents"].append(list(row.agents))
        columns["features"].append(np.asarray(row.features, dtype=np.float32))
        columns["snippets"].append(list(row.snippets))
        columns["actions"].append(list(row.actions))
        columns["expert_actions"].append(list(row.expert_actions))
        columns["legal_actions"].append([list(a) for a in row.legal_actions])
        columns["reward"].append(row.reward)
        columns["shaped_reward"].append(row.shaped_reward)
        columns["progress"].append(row.progress)
        columns["progress_next"].append(row.progress_next)
        columns["next_features"].append(np.asarray(row.next_features, dtype=np.float32))
        columns["next_snippets"].append(list(row.next_snippets))
        columns["terminated"].append(row.terminated)
        columns["truncated"].append(row.truncated)
        columns["success"].append(row.success)
        columns["llm"].append(llm)
    table = pa.table(columns, schema=SCHEMA)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)
    return path


def write_meta(data: Path, meta: dict[str, Any]) -> None:
    """Write (or merge into) ``meta.json``; refuse a folder of another schema version."""
    path = data / "meta.json"
    data.mkdir(parents=True, exist_ok=True)
    old: dict[str, Any] = {}
    if path.exists():
        old = json.loads(path.read_text())
        if old.get("schema_version") != SCHEMA_VERSION:
            raise DataError(
                f"{data} holds critic data of schema version {old.get('schema_version')}, "
                f"this brigade writes version {SCHEMA_VERSION}: collect into a new folder"
            )
    collections = [*old.get("collections", []), meta]
    merged = {"schema_version": SCHEMA_VERSION, "collections": collections}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(merged, indent=2, default=str))
    os.replace(tmp, path)


def episode_files(sources: Iterable[Path]) -> list[Path]:
    """Every episode file under the given data folders or files (sorted)."""
    found: list[Path] = []
    for source in sources:
        if source.is_file():
            found.append(source)
        elif (source / "episodes").is_dir():
            found += sorted((source / "episodes").glob("*.parquet"))
        elif source.is_dir():
            found += sorted(source.glob("*.parquet"))
        else:
            raise DataError(f"no critic data at {source}")
    return found


@dataclass
class StepData:
    """Logged steps as arrays (row order: episode by episode, steps in order).

    ``episode_start[k]`` is the first row of episode ``k``; rows of an episode
    are consecutive.
    """

    env: np.ndarray
    episode: np.ndarray
    seed: np.ndarray
    step: np.ndarray
    agents: list[tuple[str, ...]]
    features: np.ndarray
    snippets: list[tuple[str, ...]]
    actions: list[tuple[str, ...]]
    expert_actions: list[tuple[str, ...]]
    legal_actions: list[tuple[tuple[str, ...], ...]]
    reward: np.ndarray
    shaped_reward: np.ndarray
    progress: np.ndarray
    progress_next: np.ndarray
    next_features: np.ndarray
    next_snippets: list[tuple[str, ...]]
    terminated: np.ndarray
    truncated: np.ndarray
    success: np.ndarray
    files: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.reward)

    @property
    def episode_bounds(self) -> list[tuple[int, int]]:
        """``(first row, end row)`` of each episode."""
        bounds = []
        start = 0
        for i in range(1, len(self.episode) + 1):
            if i == len(self.episode) or self.episode[i] != self.episode[start]:
                bounds.append((start, i))
                start = i
        return bounds

    def subset(self, rows: np.ndarray) -> StepData:
        """The rows ``rows`` (whole episodes keep their order)."""
        idx = [int(i) for i in rows]
        return StepData(
            env=self.env[rows],
            episode=self.episode[rows],
            seed=self.seed[rows],
            step=self.step[rows],
            agents=[self.agents[i] for i in idx],
            features=self.features[rows],
            snippets=[self.snippets[i] for i in idx],
            actions=[self.actions[i] for i in idx],
            expert_actions=[self.expert_actions[i] for i in idx],
            legal_actions=[self.legal_actions[i] for i in idx],
            reward=self.reward[rows],
            shaped_reward=self.shaped_reward[rows],
            progress=self.progress[rows],
            progress_next=self.progress_next[rows],
            next_features=self.next_features[rows],
            next_snippets=[self.next_snippets[i] for i in idx],
            terminated=self.terminated[rows],
            truncated=self.truncated[rows],
            success=self.success[rows],
            files=self.files,
        )


def _read_table(path: Path) -> pa.Table:
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise DataError(f"cannot read critic data {path}: {exc}") from None
    version = (table.schema.metadata or {}).get(b"brigade.schema_version", b"?").decode()
    if version != str(SCHEMA_VERSION):
        raise DataError(
            f"{path} has schema version {version}; this brigade reads version {SCHEMA_VERSION}"
        )
    missing = [name for name in SCHEMA.names if name not in table.column_names]
    if missing:
        raise DataError(f"{path} lacks the columns {missing}")
    return table


def load_steps(sources: Iterable[Path | str]) -> StepData:
    """Read every episode under ``sources`` into one :class:`StepData`.

    Raises:
        DataError: No episodes, an unreadable file, another schema version, or
            feature vectors of different sizes (one critic needs one size).
    """
    files = episode_files(Path(s) for s in sources)
    if not files:
        raise DataError("no logged episodes found (collect some with `brigade collect`)")
    tables = [_read_table(f) for f in files]
    table = pa.concat_tables([t.select(SCHEMA.names).cast(SCHEMA) for t in tables])
    if table.num_rows == 0:
        raise DataError(f"the {len(files)} episode files hold no steps")
    cols = table.to_pydict()
    sizes = {len(f) for f in cols["features"]}
    if len(sizes) != 1:
        by_env: dict[str, int] = {}
        for env, feats in zip(cols["env"], cols["features"]):
            by_env.setdefault(env, len(feats))
        raise DataError(
            f"the feature vectors differ in size between environments ({by_env}); "
            "a critic needs one size: train on environments of one kind"
        )
    features = np.asarray(cols["features"], dtype=np.float32)
    if not (np.isfinite(features).all() and np.isfinite(np.asarray(cols["next_features"])).all()):
        raise DataError("the data holds features that are not finite numbers")
    return StepData(
        env=np.asarray(cols["env"], dtype=object),
        episode=np.asarray(cols["episode"], dtype=object),
        seed=np.asarray(cols["seed"], dtype=np.int64),
        step=np.asarray(cols["step"], dtype=np.int32),
        agents=[tuple(a) for a in cols["agents"]],
        features=features,
        snippets=[tuple(s) for s in cols["snippets"]],
        actions=[tuple(a) for a in cols["actions"]],
        expert_actions=[tuple(a) for a in cols["expert_actions"]],
        legal_actions=[tuple(tuple(x) for x in a) for a in cols["legal_actions"]],
        reward=np.asarray(cols["reward"], dtype=np.float32),
        shaped_reward=np.asarray(cols["shaped_reward"], dtype=np.float32),
        progress=np.asarray(cols["progress"], dtype=np.float32),
        progress_next=np.asarray(cols["progress_next"], dtype=np.float32),
        next_features=np.asarray(cols["next_features"], dtype=np.float32),
        next_snippets=[tuple(s) for s in cols["next_snippets"]],
        terminated=np.asarray(cols["terminated"], dtype=bool),
        truncated=np.asarray(cols["truncated"], dtype=bool),
        success=np.asarray(cols["success"], dtype=bool),
        files=[str(f) for f in files],
    )
