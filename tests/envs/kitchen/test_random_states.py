"""Random start positions: one rule for every kitchen API."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from brigade.envs.kitchen import KitchenMDP, shipped_layout_names
from brigade.envs.kitchen.layout import parse_layout_text
from brigade.envs.kitchen.motion import MotionPlanner
from brigade.envs.kitchen.random_states import START_MODES, random_start_positions
from brigade.errors import InputError

# Chef 1 starts in a pocket of one floor cell, walled in by a counter and a crate.
POCKET = """{
    "grid":  \"\"\"XXXPXXX
                O1X 2 D
                XXX   X
                XSXXXTX\"\"\",
}"""


@pytest.fixture(scope="module")
def forced() -> KitchenMDP:
    return KitchenMDP.from_layout_name("forced_coordination")


@pytest.fixture(scope="module")
def pocket() -> KitchenMDP:
    return KitchenMDP(parse_layout_text(POCKET, name="pocket"))


def test_start_modes() -> None:
    assert START_MODES == ("standard", "random")


@pytest.mark.parametrize("layout", shipped_layout_names())
@pytest.mark.parametrize("per_region", [True, False])
def test_chefs_land_on_distinct_floor_cells(layout: str, per_region: bool) -> None:
    mdp = KitchenMDP.from_layout_name(layout)
    rng = np.random.default_rng(0)
    for _ in range(100):
        positions = random_start_positions(mdp, rng, per_region=per_region)
        assert len(positions) == mdp.num_chefs
        assert len(set(positions)) == mdp.num_chefs
        assert all(mdp.is_floor(p) for p in positions)
        assert all(isinstance(x, int) and isinstance(y, int) for x, y in positions)


def test_each_chef_stays_in_and_covers_its_region_on_forced_coordination(
    forced: KitchenMDP,
) -> None:
    planner = MotionPlanner(forced)
    regions = [planner.region(start) for start in forced.layout.start_positions]
    assert regions[0] != regions[1]  # the counter splits the kitchen in two
    seen: list[set[tuple[int, int]]] = [set(), set()]
    for seed in range(300):
        positions = random_start_positions(forced, np.random.default_rng(seed))
        for i, pos in enumerate(positions):
            assert pos in regions[i], f"seed {seed}: chef {i + 1} left its region at {pos}"
            seen[i].add(pos)
    assert seen == [set(r) for r in regions]  # every cell of a region comes up


def test_without_per_region_chefs_may_cross_the_counter(forced: KitchenMDP) -> None:
    planner = MotionPlanner(forced)
    home = planner.region(forced.layout.start_positions[0])
    rng = np.random.default_rng(0)
    draws = [random_start_positions(forced, rng, per_region=False)[0] for _ in range(200)]
    assert any(pos not in home for pos in draws)
    assert set(draws) == set(forced.floor_positions)


def test_chefs_sharing_a_region_get_distinct_cells(pocket: KitchenMDP) -> None:
    # Three chefs in the right-hand region of six cells; chef 1 alone in the pocket.
    three = dataclasses.replace(pocket.layout, start_positions=((1, 1), (4, 1), (4, 2), (5, 2)))
    mdp = KitchenMDP(three)
    for seed in range(100):
        positions = random_start_positions(mdp, np.random.default_rng(seed))
        assert positions[0] == (1, 1)
        assert len(set(positions)) == 4
        assert all(p[0] >= 3 for p in positions[1:])


def test_same_generator_state_gives_the_same_cells(forced: KitchenMDP) -> None:
    a, b = np.random.default_rng(42), np.random.default_rng(42)
    for _ in range(20):
        assert random_start_positions(forced, a) == random_start_positions(forced, b)
    assert a.random() == b.random()  # and the same draws were consumed
    firsts = {tuple(random_start_positions(forced, np.random.default_rng(s))) for s in range(20)}
    assert len(firsts) > 1


def test_a_region_too_small_for_its_chefs_is_an_input_error(pocket: KitchenMDP) -> None:
    # Chefs 1 and 3 both start in the one-cell pocket (only a hand-built layout can do that).
    crowded = KitchenMDP(
        dataclasses.replace(pocket.layout, start_positions=((1, 1), (4, 1), (1, 1)))
    )
    rng = np.random.default_rng(0)
    with pytest.raises(InputError, match=r"pocket: .*chefs 1, 3 share a floor region of 1 cell"):
        random_start_positions(crowded, rng)
    assert len(set(random_start_positions(crowded, rng, per_region=False))) == 3

    floor = len(pocket.floor_positions)
    many = dataclasses.replace(pocket.layout, start_positions=((4, 1),) * (floor + 1))
    with pytest.raises(InputError, match=f"share a floor of {floor} cells"):
        random_start_positions(KitchenMDP(many), rng, per_region=False)


def test_a_start_off_the_floor_is_an_input_error(pocket: KitchenMDP) -> None:
    bad = KitchenMDP(dataclasses.replace(pocket.layout, start_positions=((1, 1), (0, 0))))
    with pytest.raises(InputError, match=r"chef 2 starts on \[0, 0\], which is not a floor cell"):
        random_start_positions(bad, np.random.default_rng(0))
