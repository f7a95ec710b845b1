from __future__ import annotations

import pytest

from brigade import envs
from brigade.task_env import PlannerView


def test_planner_view_hides_ground_truth() -> None:
    env = envs.make_task("kitchen/cramped_room")
    view = env.planner_view()
    assert isinstance(view, PlannerView)
    for hidden in ("progress", "snapshot", "restore", "execute", "expert_plan", "_env_unused"):
        assert not hasattr(view, hidden)
    with pytest.raises(AttributeError):
        view.agents = ("x",)  # type: ignore[misc]
    assert view.describe() == env.describe()
    assert view.legal_actions("Alice") == env.legal_actions("Alice")
    features = view.features()
    features[:] = -1  # a copy: the planner cannot write into the environment
    assert (env.features() != -1).any()
