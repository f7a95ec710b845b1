"""Critic data: Parquet episodes, crash safety, schema checks, disjoint seeds."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from brigade.critics.data import (
    COLLECT_SEED_BASE,
    SCHEMA_VERSION,
    DataError,
    episode_files,
    load_steps,
    write_meta,
)
from brigade.errors import ConfigError, RegistryError
from brigade.planners.collect import CollectConfig, Collector, CollectResult, collect

from ..fakes.scripted_chat import ScriptedChat


def test_a_collection_logs_every_step_with_its_columns(small_data: CollectResult) -> None:
    data = load_steps([small_data.out])
    assert small_data.collected == 24 and len(data) == small_data.steps
    assert len(data.episode_bounds) == 24
    assert set(data.env.tolist()) == {"kitchen-read/cramped_room-v0"}
    assert (data.seed >= COLLECT_SEED_BASE).all()
    assert data.features.shape == (len(data), data.features.shape[1])
    for start, end in data.episode_bounds:
        assert list(data.step[start:end]) == list(
            range(data.step[start], data.step[start] + end - start)
        )
        # Only the last step of an episode ends it, and never both ways.
        assert not (data.terminated[start : end - 1] | data.truncated[start : end - 1]).any()
        assert data.terminated[end - 1] or data.truncated[end - 1]
        assert not (data.terminated[end - 1] and data.truncated[end - 1])
        # The next state of a step is the state of the following step.
        assert np.array_equal(data.next_features[start : end - 1], data.features[start + 1 : end])
    assert all(len(a) == 2 and a == ("Alice", "Bob") for a in data.agents)
    assert all(len(x) == 2 for x in data.actions)
    assert all(s[0].startswith("Alice at (") for s in data.snippets)
    assert all(len(x) == 2 for x in data.expert_actions)
    assert all("WAIT" in legal[0] for legal in data.legal_actions)


def test_planners_and_start_modes_take_turns() -> None:
    config = CollectConfig(planner="central,expert", start="standard,random", episodes=5)
    keys = config.jobs()
    assert [k.planner for k in keys] == ["central", "expert", "central", "expert", "central"]
    assert [k.start for k in keys] == ["standard", "standard", "random", "random", "standard"]
    assert [k.seed for k in keys] == [COLLECT_SEED_BASE + k for k in range(5)]


def test_collection_seeds_never_overlap_evaluation_seeds() -> None:
    with pytest.raises(ConfigError, match="evaluation seeds") as info:
        Collector(CollectConfig(seed=0, episodes=1))
    assert info.value.key == "seed"


def test_bad_settings_are_named() -> None:
    with pytest.raises(ConfigError) as info:
        Collector(CollectConfig(start="sideways"))
    assert info.value.key == "start"
    with pytest.raises(RegistryError, match="did you mean 'central'"):
        Collector(CollectConfig(planner="centrall"))


def test_a_resumed_collection_skips_finished_episodes(tmp_path: Path) -> None:
    config = CollectConfig(
        env="kitchen-read/cramped_room", planner="expert", episodes=3, out=str(tmp_path)
    )
    first = collect(config)
    config.episodes = 4
    second = collect(config)
    assert (first.collected, second.collected, second.skipped) == (3, 1, 3)
    meta = json.loads((tmp_path / "meta.json").read_text())
    assert meta["schema_version"] == SCHEMA_VERSION and len(meta["collections"]) == 2


def test_a_killed_collection_leaves_finished_episodes_readable(
    small_data: CollectResult, tmp_path: Path
) -> None:
    shutil.copytree(small_data.out, tmp_path / "d")
    # What a kill mid-write leaves: a temporary file, never a file under its final name.
    (tmp_path / "d" / "episodes" / ".half.parquet.123.tmp").write_bytes(b"PAR1 torn")
    assert len(load_steps([tmp_path / "d"])) == small_data.steps


def test_files_of_another_schema_version_are_refused(
    small_data: CollectResult, tmp_path: Path
) -> None:
    source = episode_files([small_data.out])[0]
    table = pq.read_table(source)
    table = table.replace_schema_metadata({b"brigade.schema_version": b"99"})
    pq.write_table(table, tmp_path / "old.parquet")
    with pytest.raises(DataError, match="schema version 99"):
        load_steps([tmp_path / "old.parquet"])
    (tmp_path / "meta.json").write_text(json.dumps({"schema_version": 0}))
    with pytest.raises(DataError, match="new folder"):
        write_meta(tmp_path, {})


def test_unreadable_and_missing_data_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no critic data"):
        load_steps([tmp_path / "nothing"])
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(DataError, match="cannot read"):
        load_steps([tmp_path / "bad.parquet"])
    empty = tmp_path / "empty"
    (empty / "episodes").mkdir(parents=True)
    with pytest.raises(DataError, match="no logged episodes"):
        load_steps([empty])


def test_feature_sizes_must_agree(small_data: CollectResult, tmp_path: Path) -> None:
    other = collect(
        CollectConfig(
            env="kitchen-read/forced_coordination", planner="expert", episodes=1, out=str(tmp_path)
        )
    )
    with pytest.raises(DataError, match="differ in size"):
        load_steps([small_data.out, other.out])


def test_episode_files_are_parquet_with_the_schema_version(small_data: CollectResult) -> None:
    table = pq.read_table(episode_files([small_data.out])[0])
    assert table.schema.metadata[b"brigade.schema_version"] == str(SCHEMA_VERSION).encode()
    assert table.schema.field("terminated").type == pa.bool_()


def _flaky(error: Exception, fail: int) -> ScriptedChat:
    """A chat model that fails its first ``fail`` calls with ``error``, then says WAIT."""
    calls = {"n": 0}
    wait = "EXECUTE\nNAME Alice ACTION WAIT\nNAME Bob ACTION WAIT"

    def reply(messages: object) -> str | Exception:
        calls["n"] += 1
        return error if calls["n"] <= fail else wait

    return ScriptedChat(reply)


def test_episodes_cut_by_the_server_are_not_written_and_are_redone(tmp_path: Path) -> None:
    from brigade.errors import ServerError

    config = CollectConfig(
        env="kitchen-read/cramped_room", episodes=2, start="standard", out=str(tmp_path)
    )
    first = Collector(config, llm=_flaky(ServerError("down"), fail=1000)).run()
    assert first.collected == 0 and first.failures == {"server_error": 2}
    assert episode_files([tmp_path]) == []
    second = Collector(config, llm=_flaky(ServerError("down"), fail=0)).run()
    assert second.collected == 2 and second.skipped == 0


def test_a_spent_budget_stops_the_collection(tmp_path: Path) -> None:
    from brigade.errors import BudgetExceededError

    config = CollectConfig(
        env="kitchen-read/cramped_room", episodes=5, start="standard", out=str(tmp_path)
    )
    result = Collector(config, llm=_flaky(BudgetExceededError("spent"), fail=1000)).run()
    assert result.failures == {"budget": 1} and result.collected == 0


def test_a_folder_refuses_episodes_of_other_settings(tmp_path: Path) -> None:
    base = dict(env="kitchen-read/cramped_room", planner="expert", episodes=1, out=str(tmp_path))
    collect(CollectConfig(**base))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="other settings") as info:
        collect(CollectConfig(**base, perturb_steps=9))  # type: ignore[arg-type]
    assert info.value.key == "perturb_steps"


def test_read_planners_cannot_collect_their_own_critic_data() -> None:
    with pytest.raises(ConfigError, match="needs a critic"):
        Collector(CollectConfig(planner="read-j"))
