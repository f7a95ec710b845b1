"""Run comparisons: bootstrap intervals, cells per (task, start, planner), plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from brigade.planners.report import bootstrap, load_cells, markdown
from brigade.planners.runner import RunConfig, run


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0, 100), min_size=1, max_size=30))
def test_bootstrap_intervals_hold_the_mean(values: list[float]) -> None:
    interval = bootstrap(values, resamples=500)
    assert np.isclose(interval.mean, np.mean(values))
    assert interval.low - 1e-9 <= interval.mean <= interval.high + 1e-9
    assert min(values) - 1e-9 <= interval.low and interval.high <= max(values) + 1e-9


def test_a_constant_sample_has_a_zero_width_interval() -> None:
    interval = bootstrap([1.0] * 20)
    assert (interval.low, interval.mean, interval.high) == (1.0, 1.0, 1.0)
    assert interval.text(2) == "1.00 [1.00, 1.00]"


def test_cells_split_by_start_mode_and_label_controls(tmp_path: Path) -> None:
    common = dict(env="kitchen-read/cramped_room", episodes=2, video="none")
    run(RunConfig(planner="expert", out=str(tmp_path / "a"), **common))  # type: ignore[arg-type]
    run(RunConfig(planner="expert", out=str(tmp_path / "b"), task={"start": "random"}, **common))  # type: ignore[arg-type]
    run(RunConfig(planner="read-j-single", critic="constant", out=str(tmp_path / "c"), **common))  # type: ignore[arg-type]
    cells = load_cells([tmp_path / "a", tmp_path / "b", tmp_path / "c"])
    keys = {(c.start, c.planner) for c in cells}
    assert keys == {
        ("standard", "expert"),
        ("random", "expert"),
        ("standard", "read-j-single [constant]"),
    }
    assert all(c.seeds == (0, 1) for c in cells)
    text = markdown(cells)
    assert "random start" in text and "| expert | 1.00 [1.00, 1.00]" in text


def test_targets_pick_the_best_baseline_by_success_then_steps() -> None:
    from brigade.planners.report import Cell, Interval, targets

    def cell(planner: str, sr: float, es: float) -> Cell:
        return Cell(
            "t",
            "standard",
            planner,
            20,
            (),
            Interval(sr, sr, sr),
            Interval(es, es, es),
            Interval(0, 0, 0),
        )

    cells = [
        cell("central", 0.9, 30),
        cell("react", 0.9, 25),
        cell("roco", 0.5, 10),
        cell("read-j", 0.95, 19),
    ]
    table = targets(cells, ["central", "react", "roco"])
    assert "| react (0.90, 25.0) | 0.95, 19.0 | 0.76 | yes | yes |" in table


def test_critics_that_never_saw_the_task_are_named_in_the_label() -> None:
    from brigade.planners.records import EpisodeRecord
    from brigade.planners.report import _label

    def record(critic: dict[str, object]) -> EpisodeRecord:
        return EpisodeRecord(
            env="kitchen/coordination_ring-v0",
            planner="read-j",
            llm="x",
            seed=0,
            success=True,
            env_steps=1,
            moves=1,
            llm_queries=1,
            llm_retries=0,
            tokens_in=0,
            tokens_out=0,
            cost_usd=0.0,
            wall_s=0.0,
            failure_kind=None,
            critic=critic,
        )

    other = {"kind": "learned", "envs": ["kitchen/a-v0", "kitchen/b-v0"]}
    own = {"kind": "learned", "envs": ["kitchen/coordination_ring-v0"]}
    assert _label(record(other)) == "read-j [critic of 2 other layouts]"
    assert _label(record(own)) == "read-j"
    assert _label(record({"kind": "oracle"})) == "read-j [oracle]"


def test_a_folder_given_twice_counts_once(tmp_path: Path) -> None:
    run(
        RunConfig(
            env="kitchen-read/cramped_room",
            planner="expert",
            episodes=2,
            video="none",
            out=str(tmp_path / "a"),
        )
    )
    cells = load_cells([tmp_path / "a", tmp_path / "a"])
    assert [c.episodes for c in cells] == [2]


def test_planner_options_of_a_run_are_named_in_the_label(tmp_path: Path) -> None:
    run(
        RunConfig(
            env="kitchen-read/cramped_room",
            planner="read-s",
            critic="constant",
            planner_options={"optimism": 1.0},
            episodes=1,
            video="none",
            out=str(tmp_path / "o"),
        )
    )
    (cell,) = load_cells([tmp_path / "o"])
    assert cell.planner == "read-s [constant] {optimism=1.0}"
