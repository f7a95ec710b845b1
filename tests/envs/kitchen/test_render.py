"""The kitchen renderer draws what the state says, where it says it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from brigade.envs.kitchen import KitchenMDP, KitchenState, Soup, shipped_layout_names
from brigade.envs.kitchen.layout import parse_layout_text
from brigade.envs.kitchen.render import CHEF_COLORS, KitchenRenderer
from brigade.envs.kitchen.render_sprites import draw_item, shade
from brigade.errors import InputError

CELL = 48

THREE_CHEFS = """{
    "grid":  \"\"\"XXXPXPXXX
                O   1   D
                X 2   3 X
                XXOXSXDXX\"\"\",
    "start_all_orders": [{"ingredients": ["onion", "onion", "onion"]}],
}"""

NINE_CHEFS = """{
    "grid":  \"\"\"XXXPXXPXXXPXX
                O 1   2   3 T
                X           X
                D 4   5   6 S
                X           X
                O 7   8   9 D
                XXXSXXPXXXOXX\"\"\",
    "start_bonus_orders": [{"ingredients": ["onion", "tomato"]}],
    "start_all_orders": [
        {"ingredients": ["onion", "onion", "onion"]},
        {"ingredients": ["onion", "tomato"]},
    ],
}"""


@pytest.fixture(scope="module")
def mdp() -> KitchenMDP:
    return KitchenMDP.from_layout_name("cramped_room")


@pytest.fixture(scope="module")
def renderer(mdp: KitchenMDP) -> KitchenRenderer:
    return KitchenRenderer(mdp, cell_px=CELL)


def player(pos: tuple[int, int], facing: tuple[int, int], held: Any = None) -> dict[str, Any]:
    return {"position": pos, "orientation": facing, "held_object": held}


def soup(pos: tuple[int, int], ingredients: list[str], tick: int) -> dict[str, Any]:
    return {
        "name": "soup",
        "position": pos,
        "_ingredients": [{"name": i, "position": pos} for i in ingredients],
        "cooking_tick": tick,
    }


def state_of(
    mdp: KitchenMDP, players: list[dict[str, Any]], objects: Sequence[Any] = (), t: int = 0
) -> KitchenState:
    data = mdp.to_overcooked_dict(mdp.initial_state())
    data.update(players=players, objects=list(objects), timestep=t)
    return mdp.from_overcooked_dict(data)


def grid_origin(renderer: KitchenRenderer, mdp: KitchenMDP) -> int:
    """Rows of the frame above the grid (the HUD)."""
    return renderer.frame_shape[0] - mdp.height * renderer.cell_px


def cell_slice(
    renderer: KitchenRenderer, mdp: KitchenMDP, pos: tuple[int, int]
) -> tuple[slice, slice]:
    c, top = renderer.cell_px, grid_origin(renderer, mdp)
    x, y = pos
    return slice(top + y * c, top + (y + 1) * c), slice(x * c, (x + 1) * c)


def changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mask of pixels that differ."""
    return np.any(a != b, axis=-1)


def only_in(mask: np.ndarray, region: tuple[slice, slice]) -> bool:
    outside = mask.copy()
    outside[region] = False
    return bool(mask[region].any()) and not outside.any()


# The two chefs of cramped_room start on (1, 2) and (3, 1); (2, 2) is free floor.
A, B = (1, 2), (3, 1)
POT = (2, 0)


def test_frames_are_rgb_uint8_of_the_declared_shape(
    mdp: KitchenMDP, renderer: KitchenRenderer
) -> None:
    frame = renderer.render(mdp.initial_state(), score=0, step_info="hello")
    assert frame.dtype == np.uint8
    assert frame.shape == renderer.frame_shape
    h, w, ch = frame.shape
    assert ch == 3 and w == mdp.width * CELL and h > mdp.height * CELL
    bare = KitchenRenderer(mdp, cell_px=CELL, hud=False).render(mdp.initial_state())
    assert bare.shape == (mdp.height * CELL, mdp.width * CELL, 3)


def test_rendering_is_deterministic_and_frames_are_independent(mdp: KitchenMDP) -> None:
    s1 = state_of(mdp, [player(A, (0, -1), {"name": "onion", "position": A}), player(B, (1, 0))])
    s2 = state_of(mdp, [player(A, (1, 0)), player(B, (0, 1))], [soup(POT, ["onion"] * 3, 4)])
    r1, r2 = KitchenRenderer(mdp, cell_px=CELL), KitchenRenderer(mdp, cell_px=CELL)
    first = r1.render(s1, score=20, step_info="x")
    r1.render(s2)  # cached cells from another state must not leak into the next frame
    again = r1.render(s1, score=20, step_info="x")
    fresh = r2.render(s1, score=20, step_info="x")
    assert np.array_equal(first, again) and np.array_equal(first, fresh)
    first[:] = 0  # a returned frame is the caller's: changing it changes nothing else
    assert np.array_equal(r1.render(s1, score=20, step_info="x"), fresh)


def test_a_held_onion_changes_only_the_chefs_cell(
    mdp: KitchenMDP, renderer: KitchenRenderer
) -> None:
    empty = state_of(mdp, [player(A, (0, -1)), player(B, (1, 0))])
    onion = state_of(mdp, [player(A, (0, -1), {"name": "onion", "position": A}), player(B, (1, 0))])
    dish = state_of(mdp, [player(A, (0, -1), {"name": "dish", "position": A}), player(B, (1, 0))])
    mask = changed(renderer.render(empty), renderer.render(onion))
    assert only_in(mask, cell_slice(renderer, mdp, A))
    # Different items look different.
    assert changed(renderer.render(onion), renderer.render(dish)).any()


def test_items_on_counters_are_drawn_on_their_counter(
    mdp: KitchenMDP, renderer: KitchenRenderer
) -> None:
    players = [player(A, (0, -1)), player(B, (1, 0))]
    bare = renderer.render(state_of(mdp, players))
    for obj in ({"name": "onion", "position": (0, 2)}, soup((0, 2), ["onion"] * 3, 20)):
        frame = renderer.render(state_of(mdp, players, [obj]))
        assert only_in(changed(bare, frame), cell_slice(renderer, mdp, (0, 2)))


def test_the_pot_shows_contents_cooking_and_ready(
    mdp: KitchenMDP, renderer: KitchenRenderer
) -> None:
    players = [player(A, (0, -1)), player(B, (1, 0))]
    time = 20  # cramped_room's cooking time
    frames = {
        name: renderer.render(state_of(mdp, players, objs))
        for name, objs in {
            "empty": [],
            "one": [soup(POT, ["onion"], -1)],
            "two": [soup(POT, ["onion"] * 2, -1)],
            "cooking": [soup(POT, ["onion"] * 3, 5)],
            "cooking_later": [soup(POT, ["onion"] * 3, 6)],
            "ready": [soup(POT, ["onion"] * 3, time)],
        }.items()
    }
    pot = cell_slice(renderer, mdp, POT)
    names = list(frames)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            mask = changed(frames[a], frames[b])
            assert only_in(mask, pot), f"{a} vs {b} should differ in the pot's cell only"

    # Ready is drawn green (the ring and the check mark); cooking is not.
    def greenish(frame: np.ndarray) -> int:
        cell = frame[pot].astype(int)
        return int(((cell[..., 1] > 150) & (cell[..., 1] > cell[..., 0] + 60)).sum())

    assert greenish(frames["ready"]) > 20 * greenish(frames["cooking"]) + 20


def test_ingredient_order_in_the_pot_shows(mdp: KitchenMDP) -> None:
    tomato_mdp = KitchenMDP.from_layout_name("cramped_room_tomato")
    r = KitchenRenderer(tomato_mdp, cell_px=CELL)
    players = [player(A, (0, -1)), player(B, (1, 0))]
    ot = r.render(state_of(tomato_mdp, players, [soup(POT, ["onion", "tomato"], -1)]))
    to = r.render(state_of(tomato_mdp, players, [soup(POT, ["tomato", "onion"], -1)]))
    assert only_in(changed(ot, to), cell_slice(r, tomato_mdp, POT))


FACINGS = {"north": (0, -1), "south": (0, 1), "east": (1, 0), "west": (-1, 0)}
OPPOSITE = {"north": "south", "south": "north", "east": "west", "west": "east"}


@pytest.mark.parametrize("cell", [32, 64])
@pytest.mark.parametrize("held", [None, "onion", "dish"])
@pytest.mark.parametrize("side", list(FACINGS))
def test_facing_shows_on_the_facing_side(
    mdp: KitchenMDP, side: str, held: str | None, cell: int
) -> None:
    r = KitchenRenderer(mdp, cell_px=cell)
    free = (2, 2)
    obj = None if held is None else {"name": held, "position": free}
    away = r.render(state_of(mdp, [player(A, (0, -1)), player(B, (1, 0))]))
    here = r.render(state_of(mdp, [player(free, FACINGS[side], obj), player(B, (1, 0))]))
    region = cell_slice(r, mdp, free)
    moved = changed(away, here)
    moved[cell_slice(r, mdp, A)] = False  # where the chef came from
    assert only_in(moved, region)
    # The chef's pointer, in the chef's colour, lies in the quarter of the cell it faces.
    cell_px = here[region].astype(int)
    colour = np.all(np.abs(cell_px - CHEF_COLORS[0]) <= 24, axis=-1)
    q = cell // 4
    strips = {
        "north": colour[:q],
        "south": colour[-q:],
        "west": colour[:, :q],
        "east": colour[:, -q:],
    }
    assert strips[side].sum() >= 4 * strips[OPPOSITE[side]].sum() + 3


def test_chef_names_label_the_chefs(mdp: KitchenMDP, renderer: KitchenRenderer) -> None:
    state = mdp.initial_state()
    numbered = renderer.render(state)
    named = renderer.render(state, chef_names=["Alice", "Bob"])
    mask = changed(numbered, named)
    assert mask[cell_slice(renderer, mdp, A)].any() and mask[cell_slice(renderer, mdp, B)].any()
    with pytest.raises(InputError, match="3 names for 2 chefs"):
        renderer.render(state, chef_names=["a", "b", "c"])


def test_hud_shows_score_timestep_and_step_info(mdp: KitchenMDP, renderer: KitchenRenderer) -> None:
    state = mdp.initial_state()
    hud_rows = grid_origin(renderer, mdp)
    base = renderer.render(state, score=0)
    for other in (
        renderer.render(state, score=20),
        renderer.render(state, score=0, step_info="Alice picks an onion"),
        renderer.render(state.replace(timestep=123), score=0),
        renderer.render(state),
    ):
        mask = changed(base, other)
        assert mask[:hud_rows].any() and not mask[hud_rows:].any()


def test_bonus_orders_are_marked(renderer: KitchenRenderer) -> None:
    tomato_mdp = KitchenMDP.from_layout_name("cramped_room_tomato")
    r = KitchenRenderer(tomato_mdp, cell_px=CELL)
    state = tomato_mdp.initial_state()
    assert state.orders.bonus
    no_bonus = state.replace(orders=tomato_mdp.recipes.orders(state.orders.all, ()))
    hud_rows = grid_origin(r, tomato_mdp)
    mask = changed(r.render(state), r.render(no_bonus))
    assert mask[:hud_rows].any() and not mask[hud_rows:].any()


@pytest.mark.parametrize("name", shipped_layout_names())
def test_every_shipped_layout_renders(name: str) -> None:
    mdp = KitchenMDP.from_layout_name(name)
    for cell in (32, 64):
        r = KitchenRenderer(mdp, cell_px=cell)
        state = mdp.initial_state()
        rng = np.random.default_rng(0)
        for step in range(30):
            frame = r.render(state, score=step, step_info=f"step {step}")
            assert frame.shape == r.frame_shape == (frame.shape[0], mdp.width * cell, 3)
            assert frame.dtype == np.uint8
            state, _ = mdp.transition(state, rng.integers(0, 6, mdp.num_chefs).tolist())


@pytest.mark.parametrize("text", [THREE_CHEFS, NINE_CHEFS])
def test_many_chefs_each_get_their_own_colour(text: str) -> None:
    mdp = KitchenMDP(parse_layout_text(text, name="many"))
    r = KitchenRenderer(mdp, cell_px=CELL)
    state = mdp.initial_state()
    frame = r.render(state, score=0)
    assert 3 <= len(state.chefs) <= len(CHEF_COLORS)
    cells = [frame[cell_slice(r, mdp, chef.position)] for chef in state.chefs]
    for i, cell in enumerate(cells):
        has_colour = np.all(np.abs(cell.astype(int) - CHEF_COLORS[i]) <= 2, axis=-1)
        assert has_colour.sum() > 30, f"chef {i + 1} is not drawn in its colour"
    for i in range(len(cells)):
        for j in range(i + 1, len(cells)):
            assert changed(cells[i], cells[j]).any()


def test_bad_input_is_reported(mdp: KitchenMDP, renderer: KitchenRenderer) -> None:
    with pytest.raises(InputError, match="cell_px"):
        KitchenRenderer(mdp, cell_px=8)
    other = KitchenMDP.from_layout_name("asymmetric_advantages")
    with pytest.raises(InputError, match="pots"):
        renderer.render(other.initial_state())


# ---------------------------------------------------------------- sprites

ITEMS: list[Any] = ["onion", "tomato", "dish", Soup(("onion", "tomato", "onion"), 20)]


def test_item_sprites_are_distinct_and_stay_around_their_centre() -> None:
    r, size = 16.0, 64
    pictures = []
    for item in ITEMS:
        img = np.zeros((size, size, 3), np.uint8)
        draw_item(img, item, size / 2, size / 2, r)
        again = np.zeros_like(img)
        draw_item(again, item, size / 2, size / 2, r)
        np.testing.assert_array_equal(img, again)
        ys, xs = np.nonzero(img.any(axis=2))
        assert len(xs) > 200, f"{item} is barely drawn"
        reach = max(np.abs(xs + 0.5 - size / 2).max(), np.abs(ys + 0.5 - size / 2).max())
        assert reach <= 1.25 * r + 1, f"{item} spills {reach:.1f} px from its centre"
        pictures.append(img)
    for i in range(len(pictures)):
        for j in range(i + 1, len(pictures)):
            assert not np.array_equal(pictures[i], pictures[j])


def test_shade_darkens_and_lightens() -> None:
    color = (100, 150, 200)
    assert shade(color, 1.0) == color
    assert shade(color, 0.5) == (50, 75, 100)
    assert shade(color, 2.0) == (255, 255, 255)
    assert shade(color, 1.5) == (178, 202, 228)
