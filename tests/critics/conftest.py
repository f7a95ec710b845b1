"""Shared fixtures: a small collection and a critic trained on it (once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from brigade.critics.train import TrainConfig, TrainResult, train
from brigade.planners.collect import CollectConfig, CollectResult, collect


@pytest.fixture(scope="session")
def small_data(tmp_path_factory: pytest.TempPathFactory) -> CollectResult:
    out = tmp_path_factory.mktemp("data")
    return collect(
        CollectConfig(
            env="kitchen-read/cramped_room", planner="central,expert", episodes=24, out=str(out)
        )
    )


@pytest.fixture(scope="session")
def small_critic(
    small_data: CollectResult, tmp_path_factory: pytest.TempPathFactory
) -> TrainResult:
    out = tmp_path_factory.mktemp("critic")
    config = TrainConfig(
        data=str(small_data.out), out=str(out), epochs=3, hidden=32, ensemble=2, tensorboard=True
    )
    return train(config)


def data_dir(result: CollectResult) -> Path:
    return Path(result.out)
