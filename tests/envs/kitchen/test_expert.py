"""The scripted experts complete the kitchen tasks on every layout, at both levels."""

from __future__ import annotations

from pathlib import Path

import pytest

from brigade import envs
from brigade.envs.kitchen import KitchenMDP, shipped_layout_names
from brigade.envs.kitchen.expert import soups_served
from brigade.envs.kitchen.task_env import KitchenTaskEnv

SKILL_IDS = [i for i in envs.registered() if i.startswith("kitchen/")]


def run_expert(env_id: str, seed: int, **kwargs: object) -> tuple[bool, int]:
    env = envs.make_task(env_id, **kwargs)
    env.reset(seed)
    while True:
        out = env.execute(env.expert_plan())
        if out.done:
            return out.success, env.step_count


@pytest.mark.parametrize("env_id", SKILL_IDS)
def test_skill_expert_needs_at_most_60_percent_of_the_limit(env_id: str) -> None:
    limit = envs.make_task(env_id).step_limit
    for seed in range(8):
        success, steps = run_expert(env_id, seed, start="standard" if seed == 0 else "random")
        assert success, f"{env_id} seed {seed}: the expert failed"
        assert steps <= 0.6 * limit, f"{env_id} seed {seed}: {steps} steps of {limit}"


@pytest.mark.parametrize(
    "env_id", ["kitchen-read/cramped_room", "kitchen-read/forced_coordination"]
)
def test_move_expert_solves_reads_setting_within_its_limit(env_id: str) -> None:
    success, steps = run_expert(env_id, 0)
    assert success
    assert steps <= envs.make_task(env_id).step_limit


@pytest.mark.parametrize("layout", shipped_layout_names())
def test_move_expert_cooks_and_serves_on_every_layout(layout: str) -> None:
    served = soups_served(KitchenMDP.from_layout_name(layout))
    assert served >= 3, f"{layout}: only {served} soups in 400 moves"


TEST_LAYOUTS = Path(__file__).parent / "layouts"


@pytest.mark.parametrize(
    "layout_file",
    sorted(str(p) for p in TEST_LAYOUTS.glob("*.layout")),
    ids=lambda p: Path(p).stem,
)
def test_expert_plans_always_pass_verification(layout_file: str) -> None:
    for seed in range(3):
        env = KitchenTaskEnv(layout_file=layout_file, step_limit=25, start="random")
        env.reset(seed)
        while True:
            plan = env.expert_plan()
            assert env.verify(plan) == [], f"seed {seed} step {env.step_count}: {plan.to_text()}"
            if env.execute(plan).done:
                break
