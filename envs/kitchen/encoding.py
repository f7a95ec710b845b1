"""The lossless grid encoding of a kitchen state, per chef.

For two chefs this is exactly overcooked-ai's ``lossless_state_encoding``: for
each chef an array of shape (width, height, 26), indexed ``[x, y, channel]``.
For N chefs it generalises the same way (overcooked-ai supports only two): the
chef's own location, then the other chefs' locations in index order, then four
orientation layers per chef in the same order, then the 16 map, object and
urgency layers. Channel count: ``5 * N + 16``.

Layers (for chef i):
    ``player_i_loc``, ``player_j_loc``..., ``player_i_orientation_{0..3}``,
    ``player_j_orientation_{0..3}``..., ``pot_loc``, ``counter_loc``,
    ``onion_disp_loc``, ``tomato_disp_loc``, ``dish_disp_loc``, ``serve_loc``,
    ``onions_in_pot``, ``tomatoes_in_pot``, ``onions_in_soup``,
    ``tomatoes_in_soup``, ``soup_cook_time_remaining``, ``soup_done``,
    ``dishes``, ``onions``, ``tomatoes``, ``urgency``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from brigade.envs.kitchen.state import KitchenState, Soup

if TYPE_CHECKING:
    from brigade.envs.kitchen.mdp import KitchenMDP

MAP_LAYERS = (
    "pot_loc",
    "counter_loc",
    "onion_disp_loc",
    "tomato_disp_loc",
    "dish_disp_loc",
    "serve_loc",
)
VARIABLE_LAYERS = (
    "onions_in_pot",
    "tomatoes_in_pot",
    "onions_in_soup",
    "tomatoes_in_soup",
    "soup_cook_time_remaining",
    "soup_done",
    "dishes",
    "onions",
    "tomatoes",
)
URGENCY_WINDOW = 40
"""The urgency layer is all ones when fewer than this many steps are left."""


def num_channels(num_chefs: int) -> int:
    """Channels of the encoding for ``num_chefs`` chefs."""
    return 5 * num_chefs + len(MAP_LAYERS) + len(VARIABLE_LAYERS) + 1


def layer_names(num_chefs: int, chef: int = 0) -> list[str]:
    """Names of the channels, as seen by ``chef``."""
    order = [chef, *[j for j in range(num_chefs) if j != chef]]
    names = [f"player_{j}_loc" for j in order]
    names += [f"player_{j}_orientation_{d}" for j in order for d in range(4)]
    return [*names, *MAP_LAYERS, *VARIABLE_LAYERS, "urgency"]


def encoding_dtype(mdp: KitchenMDP) -> np.dtype[np.integer]:
    """The smallest unsigned integer type that holds every value of the encoding."""
    longest = max(mdp.recipes.time(r) for r in mdp.recipes.recipes)
    biggest = max(longest, mdp.max_ingredients, 1)
    if biggest <= np.iinfo(np.uint8).max:
        return np.dtype(np.uint8)
    if biggest <= np.iinfo(np.uint16).max:
        return np.dtype(np.uint16)
    return np.dtype(np.uint32)


class LosslessEncoder:
    """Encodes states of one MDP; the static map layers are built once."""

    def __init__(self, mdp: KitchenMDP, horizon: int = 400):
        self.mdp = mdp
        self.horizon = horizon
        self.num_chefs = mdp.num_chefs
        self.channels = num_channels(mdp.num_chefs)
        self.dtype = encoding_dtype(mdp)
        self.shape = (mdp.width, mdp.height, self.channels)
        self._map0 = 5 * self.num_chefs
        var0 = self._map0 + len(MAP_LAYERS)
        self._var = {name: var0 + k for k, name in enumerate(VARIABLE_LAYERS)}
        self._urgency = self.channels - 1
        base = np.zeros(self.shape, dtype=self.dtype)
        for k, cells in enumerate(
            (
                mdp.pot_positions,
                mdp.counter_positions,
                mdp.onion_dispensers,
                mdp.tomato_dispensers,
                mdp.dish_dispensers,
                mdp.serving_positions,
            )
        ):
            for x, y in cells:
                base[x, y, self._map0 + k] = 1
        self._base = base

    @property
    def static_layers(self) -> np.ndarray:
        """The map layers (pots, counters, dispensers, windows) alone: (W, H, C), read-only."""
        view: np.ndarray = self._base.view()
        view.flags.writeable = False
        return view

    def _put_item(self, grid: np.ndarray, pos: tuple[int, int], item: object, in_pot: bool) -> None:
        x, y = pos
        var = self._var
        if isinstance(item, Soup):
            onions, tomatoes = item.onions, item.tomatoes
            if in_pot and item.cooking_tick < 0:
                grid[x, y, var["onions_in_pot"]] += onions
                grid[x, y, var["tomatoes_in_pot"]] += tomatoes
                return
            grid[x, y, var["onions_in_soup"]] += onions
            grid[x, y, var["tomatoes_in_soup"]] += tomatoes
            if in_pot:
                remaining = self.mdp.soup_time(item) - item.cooking_tick
                grid[x, y, var["soup_cook_time_remaining"]] += remaining
                if self.mdp.soup_is_ready(item):
                    grid[x, y, var["soup_done"]] += 1
            else:
                grid[x, y, var["soup_done"]] += 1
        elif item == "dish":
            grid[x, y, var["dishes"]] += 1
        elif item == "onion":
            grid[x, y, var["onions"]] += 1
        elif item == "tomato":
            grid[x, y, var["tomatoes"]] += 1

    def shared(self, state: KitchenState) -> np.ndarray:
        """The layers every chef sees alike (map, objects, urgency)."""
        grid: np.ndarray = self._base.copy()
        for pos, soup in zip(self.mdp.pot_positions, state.pots):
            if soup is not None:
                self._put_item(grid, pos, soup, True)
        for pos, item in state.counters.items():
            self._put_item(grid, pos, item, False)
        for chef in state.chefs:
            if chef.held is not None:
                self._put_item(grid, chef.position, chef.held, False)
        if self.horizon - state.timestep < URGENCY_WINDOW:
            grid[:, :, self._urgency] = 1
        return grid

    def encode(self, state: KitchenState, out: np.ndarray | None = None) -> np.ndarray:
        """Every chef's encoding, shape (num_chefs, width, height, channels)."""
        n = self.num_chefs
        if out is None:
            out = np.empty((n, *self.shape), dtype=self.dtype)
        shared = self.shared(state)
        for i in range(n):
            out[i] = shared
            order = [i, *[j for j in range(n) if j != i]]
            for rank, j in enumerate(order):
                x, y = state.chefs[j].position
                out[i, x, y, rank] = 1
                out[i, x, y, n + 4 * rank + state.chefs[j].orientation] = 1
        return out
