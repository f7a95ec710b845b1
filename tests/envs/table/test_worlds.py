"""What both physics backends must agree on: every level starts as its task says."""

from __future__ import annotations

import numpy as np
import pytest

from brigade.envs.table.task_env import BACKENDS, make_world
from brigade.envs.table.tasks import LEVELS, make_table_task


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("task_id", list(LEVELS))
def test_physics_reads_back_as_the_tasks_start(task_id: str, backend: str) -> None:
    task = make_table_task(task_id)
    world = make_world(task, backend)
    world.step(100)
    state = world.read_state()
    ideal = task.initial_state()
    assert task.key(state) == task.key(ideal)
    assert task.progress(state) == pytest.approx(task.progress(ideal), abs=1e-3)
    for body in ideal.bodies:
        assert np.allclose(state.position(body), ideal.position(body), atol=2e-3), body
    for arm in task.agents:
        assert world.tool_pose(arm).position[2] > 0.15, f"{arm}'s tool rests too low"
