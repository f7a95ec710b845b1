"""ReAd's pipeline on the table: data from the ideal backend, a critic, ReAd-J on MuJoCo."""

from __future__ import annotations

import json
from pathlib import Path

from brigade.critics.train import TrainConfig, train
from brigade.planners.collect import CollectConfig, collect
from brigade.planners.runner import RunConfig, run


def test_a_critic_trained_without_physics_steers_read_j_on_mujoco(tmp_path: Path) -> None:
    data = collect(
        CollectConfig(
            env="table/sort-1",
            planner="central,expert",
            start="standard,perturbed",
            episodes=12,
            out=str(tmp_path / "data"),
            task={"backend": "ideal"},
        )
    )
    assert data.collected == 12 and data.steps > 12
    critic = train(
        TrainConfig(
            data=str(data.out), out=str(tmp_path / "critic"), epochs=2, hidden=32, ensemble=2
        )
    )
    result = run(
        RunConfig(
            env="table/sort-1",
            planner="read-j",
            episodes=1,
            out=str(tmp_path / "run"),
            video="none",
            critic=str(critic.out),
        )
    )
    record = result.records[0]
    # It ran to its end (a critic this small may well not solve it).
    assert record.env_steps >= 1 and record.failure_kind in (None, "task")
    transcript = next((tmp_path / "run" / "transcripts").glob("*.jsonl"))
    events = [json.loads(line) for line in transcript.read_text().splitlines()]
    scores = [e["data"] for e in events if e["kind"] == "score"]
    # Scored, so the physical episode's features have the size the critic learned on.
    assert scores and all(isinstance(s["score"], float) for s in scores)
