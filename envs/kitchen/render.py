"""Pictures of kitchen states, drawn with OpenCV.

:class:`KitchenRenderer` draws a state as an RGB ``uint8`` array: tiled floor,
wooden counters, crates of onions and tomatoes, a stack of dishes, pots on
stoves (their ingredients as dots in the order they went in, a cooking ring
with the ticks left, a green ring, a check mark and steam when ready), serving
windows with a bell, items on counters, chefs seen from above (the face, the
hands, what they hold and a pointer show where they face) and a HUD strip with
the orders (bonus orders gold, with a star), the score, the timestep and one
line of text.

The terrain never changes, so it is drawn once per renderer. Everything that
changes (a chef, a pot, an item on a counter) stays inside its own cell, so
each cell's picture is drawn once and then reused: a frame is a copy of the
background plus a few pasted cells and the HUD's text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from functools import partial

import cv2
import numpy as np

from brigade.envs.kitchen.mdp import KitchenMDP
from brigade.envs.kitchen.recipes import Orders, Recipe, ingredients_of
from brigade.envs.kitchen.render_sprites import (
    BOLD,
    Color,
    circle,
    dot_row,
    draw_dot,
    draw_item,
    draw_onion,
    draw_plate,
    draw_tomato,
    ellipse,
    line,
    poly,
    rounded_rect,
    scale_for,
    shade,
    soup_color,
    star,
    text,
    text_size,
)
from brigade.envs.kitchen.state import DIRECTIONS, Item, KitchenState, Position, Soup
from brigade.errors import InputError

Drawer = Callable[[np.ndarray], None]

#: Distinct colours for chefs 1 to 9 (chef 10 takes chef 1's colour again).
CHEF_COLORS: tuple[Color, ...] = (
    (52, 120, 246),  # blue
    (230, 64, 74),  # red
    (46, 170, 90),  # green
    (150, 90, 210),  # purple
    (255, 140, 0),  # orange
    (0, 170, 190),  # teal
    (236, 84, 160),  # pink
    (128, 88, 60),  # brown
    (90, 104, 124),  # slate
)

# The palette of the scenery, the chefs and the HUD (items have theirs in render_sprites).
_FLOOR, _GROUT = ((228, 222, 208), (218, 211, 196)), (196, 187, 170)
_WOOD, _WOOD_DARK, _WOOD_LIGHT = (192, 142, 94), (172, 122, 78), (220, 178, 130)
_WOOD_FACE, _OUTLINE = (134, 90, 54), (84, 56, 36)
_CRATE, _CRATE_LIGHT = (120, 82, 50), (162, 118, 76)
_STEEL, _STEEL_LIGHT, _STEEL_DARK = (146, 154, 166), (196, 202, 212), (68, 72, 82)
_POT_INSIDE, _STOVE = (46, 50, 60), (54, 56, 64)
_FLAME, _COOKING, _READY = (255, 98, 30), (255, 152, 28), (70, 200, 96)
_BELL, _BELL_DARK = (238, 192, 72), (158, 116, 28)
_SKIN, _SKIN_DARK, _EYE = (248, 210, 172), (196, 146, 106), (52, 36, 30)
_HAT, _HAT_EDGE = (253, 253, 253), (184, 190, 200)
_HUD, _HUD_TEXT, _HUD_DIM = (36, 40, 54), (240, 242, 246), (146, 154, 174)
_TICKET, _TICKET_EDGE, _TICKET_TEXT = (248, 241, 222), (176, 164, 138), (92, 76, 52)
_GOLD = (255, 196, 36)

_SOLID = frozenset("XOTPDS")
_CACHE_BYTES = 24 << 20  # at most this much memory of cached cell pictures per renderer


# ---------------------------------------------------------------- the renderer


class KitchenRenderer:
    """Draws the states of one kitchen as RGB pictures.

    The terrain is drawn once, when the renderer is made, and each cell's
    picture is cached, so :meth:`render` costs a fraction of a millisecond per
    frame. Frames are deterministic: the same state gives the same pixels.

    Args:
        mdp: The kitchen whose states are drawn.
        cell_px: Side of one grid cell in pixels (readable from 32, best at 64 and up).
        hud: Draw a strip above the kitchen with the orders, the score, the
            timestep and a line of text.

    Raises:
        InputError: ``cell_px`` is not an integer of at least 16.
    """

    def __init__(self, mdp: KitchenMDP, *, cell_px: int = 64, hud: bool = True):
        if isinstance(cell_px, bool) or not isinstance(cell_px, int) or cell_px < 16:
            raise InputError(f"cell_px must be an integer >= 16, got {cell_px!r}")
        self.mdp = mdp
        self.cell_px = cell_px
        self.hud = hud
        self._grid_w = mdp.width * cell_px
        self._grid_h = mdp.height * cell_px
        self._hud_h = self._layout_hud() if hud else 0
        self._background = np.empty((self._hud_h + self._grid_h, self._grid_w, 3), np.uint8)
        self._draw_background()
        self._background.flags.writeable = False
        self._cells: dict[Hashable, np.ndarray] = {}
        self._max_cells = max(64, _CACHE_BYTES // (3 * cell_px * cell_px))
        self._orders: dict[tuple[tuple[Recipe, ...], tuple[Recipe, ...]], np.ndarray] = {}

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        """The ``(height, width, 3)`` shape of every frame of this renderer."""
        h, w, _ = self._background.shape
        return (h, w, 3)

    # ------------------------------------------------------------ frames

    def render(
        self,
        state: KitchenState,
        *,
        score: float | None = None,
        step_info: str | None = None,
        chef_names: Sequence[str] | None = None,
    ) -> np.ndarray:
        """Draw a state.

        Args:
            state: A state of this renderer's kitchen.
            score: The score shown in the HUD (none is shown when ``None``).
            step_info: One line of text for the HUD (the layout's name when ``None``).
            chef_names: The chefs' names; their initials label the chefs (the
                chef numbers 1, 2, ... when ``None``).

        Returns:
            A new RGB picture, shape :attr:`frame_shape`, dtype ``uint8``.

        Raises:
            InputError: The state does not fit this kitchen, or ``chef_names``
                does not name every chef.
        """
        mdp = self.mdp
        if len(state.pots) != len(mdp.pot_positions):
            raise InputError(
                f"the state has {len(state.pots)} pots but layout {mdp.name!r} has "
                f"{len(mdp.pot_positions)}: is it a state of another kitchen?"
            )
        if chef_names is not None and len(chef_names) != len(state.chefs):
            raise InputError(f"chef_names has {len(chef_names)} names for {len(state.chefs)} chefs")
        frame: np.ndarray = self._background.copy()
        for pos, soup in zip(mdp.pot_positions, state.pots, strict=True):
            if soup is not None:
                draw = partial(self._draw_pot_status, pos, soup)
                self._paste(frame, ("pot", pos, soup), pos, draw)
        for pos, item in state.counters.items():
            if not self._solid(*pos):
                raise InputError(f"an item lies on {list(pos)}, which is not a counter")
            draw = partial(self._draw_counter_item, pos, item)
            self._paste(frame, ("item", pos, item), pos, draw)
        for i, (pos, facing, held) in enumerate(state.chefs):
            if not mdp.is_floor(pos):
                raise InputError(f"chef {i + 1} stands on {list(pos)}, which is not floor")
            name = chef_names[i].strip() if chef_names is not None else ""
            label = name[0].upper() if name else str(i + 1)
            color = CHEF_COLORS[i % len(CHEF_COLORS)]
            draw = partial(self._draw_chef, facing, held, color, label)
            self._paste(frame, ("chef", pos, facing, held, color, label), pos, draw)
        if self.hud:
            self._draw_hud(frame, state, score, step_info)
        return frame

    def _paste(self, frame: np.ndarray, key: Hashable, pos: Position, draw: Drawer) -> None:
        """Paste a cell's cached picture, drawing it over the background first if new."""
        c = self.cell_px
        x0, y0 = pos[0] * c, self._hud_h + pos[1] * c
        patch = self._cells.get(key)
        if patch is None:
            if len(self._cells) >= self._max_cells:
                self._cells.clear()
            patch = self._background[y0 : y0 + c, x0 : x0 + c].copy()
            draw(patch)
            self._cells[key] = patch
        frame[y0 : y0 + c, x0 : x0 + c] = patch

    # ------------------------------------------------------------ geometry

    def _solid(self, x: int, y: int) -> bool:
        if not (0 <= x < self.mdp.width and 0 <= y < self.mdp.height):
            return False
        return self.mdp.terrain[y][x] in _SOLID

    def _top_h(self, pos: Position) -> float:
        """Height of a counter's top surface: counters with floor in front show a front face."""
        return self.cell_px * (0.84 if not self._solid(pos[0], pos[1] + 1) else 1.0)

    # ------------------------------------------------------------ background

    def _draw_background(self) -> None:
        mdp, c = self.mdp, self.cell_px
        img = self._background
        img[:] = _HUD
        h, w = self._grid_h, self._grid_w
        rng = np.random.default_rng(7)  # the texture is the same in every run
        solid = np.zeros((h, w), bool)
        floor = np.empty((h, w, 3), np.float32)
        for y, row in enumerate(mdp.terrain):
            for x, ch in enumerate(row):
                solid[y * c : (y + 1) * c, x * c : (x + 1) * c] = ch in _SOLID
                floor[y * c : (y + 1) * c, x * c : (x + 1) * c] = _FLOOR[(x + y) % 2]
        # Floor: stone tiles in a faint checkerboard, grout lines, speckle.
        grout = max(1, round(c / 40))
        for k in range(0, h, c):
            floor[k : k + grout] = _GROUT
        for k in range(0, w, c):
            floor[:, k : k + grout] = _GROUT
        noise = rng.normal(0, 4, (h, w)).astype(np.float32)
        floor += cv2.GaussianBlur(noise, (0, 0), 0.8)[..., None]
        # Counters: wood, its grain running along the rows, in planks a third of a cell wide.
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        plank = np.floor(yy / (c / 3))
        phase = np.sin(plank * 12.9898) * 43758.5453 % 1.0  # a different grain per plank
        wave = yy + 0.05 * c * np.sin(xx / (1.7 * c) * 2 * math.pi + phase * 6.28)
        grain = 0.5 + 0.5 * np.sin(wave / (c / 11) * 2 * math.pi + phase * 20)
        mix = (grain**4 * 0.7)[..., None]
        wood = np.array(_WOOD, np.float32) * (1 - mix) + np.array(_WOOD_DARK, np.float32) * mix
        wood *= (0.97 + 0.06 * phase)[..., None]
        seam = (yy % (c / 3)) < max(1.0, c / 64)
        wood[seam] *= 0.88
        noise = rng.normal(0, 3, (h, w)).astype(np.float32)
        wood += cv2.GaussianBlur(noise, (0, 0), 1.0)[..., None]
        # Counters cast a soft shadow down and to the right onto the floor.
        shifted = np.zeros((h, w), np.float32)
        dy, dx = max(1, round(0.1 * c)), max(1, round(0.05 * c))
        shifted[dy:, dx:] = solid[: h - dy, : w - dx]
        shadow = cv2.GaussianBlur(shifted, (0, 0), max(1.0, 0.08 * c))
        floor *= (1 - 0.3 * shadow)[..., None]
        grid = np.where(solid[..., None], wood, floor)
        img[self._hud_h :] = np.clip(grid, 0, 255).astype(np.uint8)

        for y, row in enumerate(mdp.terrain):
            for x, ch in enumerate(row):
                if ch not in _SOLID:
                    continue
                x0, y0 = x * c, self._hud_h + y * c
                cell = img[y0 : y0 + c, x0 : x0 + c]
                self._draw_counter_edges(cell, (x, y))
                if ch in "OT":
                    self._draw_crate(cell, (x, y), "onion" if ch == "O" else "tomato")
                elif ch == "D":
                    self._draw_dish_stack(cell, (x, y))
                elif ch == "P":
                    self._draw_stove(cell, (x, y))
                    self._draw_pot(cell, (x, y), None)
                elif ch == "S":
                    self._draw_serving(cell, (x, y))
        if self.hud:
            img[self._hud_h - max(1, c // 24) : self._hud_h] = shade(_HUD, 0.55)

    def _draw_counter_edges(self, img: np.ndarray, pos: Position) -> None:
        c = self.cell_px
        x, y = pos
        t = max(1.0, c / 32)
        top = self._top_h(pos)
        if top < c:  # the front face, darker towards the floor
            k0 = round(top)
            ramp = np.linspace(0.92, 0.62, c - k0, dtype=np.float32)[:, None, None]
            img[k0:] = np.clip(np.array(_WOOD_FACE, np.float32) * ramp, 0, 255).astype(np.uint8)
            line(img, 0, top, c, top, shade(_WOOD_LIGHT, 1.2), t)
            line(img, 0, c - t / 2, c, c - t / 2, _OUTLINE, t)
        if not self._solid(x, y - 1):
            line(img, 0, t / 2, c, t / 2, _WOOD_LIGHT, t)
        if not self._solid(x - 1, y):
            line(img, t / 2, 0, t / 2, c, shade(_WOOD_LIGHT, 1.05), t)
        if not self._solid(x + 1, y):
            line(img, c - t / 2, 0, c - t / 2, c, _OUTLINE, t)
        else:  # a faint joint between neighbouring counters
            line(img, c - 0.5, 0, c - 0.5, top, shade(_WOOD_DARK, 0.85), max(1.0, c / 64))

    def _draw_crate(self, img: np.ndarray, pos: Position, ingredient: str) -> None:
        c = self.cell_px
        top = self._top_h(pos)
        m = 0.09 * c
        x0, y0, x1, y1 = m, m, c - m, top - 0.7 * m
        sx, sy, k = 0.03 * c, 0.05 * c, 0.075 * c  # shadow offset, wall thickness
        rounded_rect(img, (x0 + sx, y0 + sy, x1 + sx, y1 + sy), 0.06 * c, shade(_WOOD, 0.62))
        rounded_rect(img, (x0, y0, x1, y1), 0.06 * c, _CRATE)
        rounded_rect(img, (x0 + k, y0 + k, x1 - k, y1 - k), 0.03 * c, shade(_CRATE, 0.62))
        rounded_rect(img, (x0, y0, x1, y1), 0.06 * c, shade(_CRATE, 0.55), max(1.0, c / 40))
        line(img, x0 + sx, y0 + k / 2, x1 - sx, y0 + k / 2, _CRATE_LIGHT, max(1.0, c / 48))
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 + 0.03 * c
        draw = draw_onion if ingredient == "onion" else draw_tomato
        for dx, dy in ((-0.13, 0.07), (0.13, 0.07), (0.0, -0.07)):
            draw(img, cx + dx * c, cy + dy * c, 0.15 * c)

    def _draw_dish_stack(self, img: np.ndarray, pos: Position) -> None:
        c = self.cell_px
        cx, cy = c / 2, self._top_h(pos) / 2
        r = 0.31 * c
        for k in (1.5, 0.5, -0.5, -1.5):  # from the bottom plate up
            draw_plate(img, cx, cy + 0.04 * c * k, r)

    def _draw_stove(self, img: np.ndarray, pos: Position) -> None:
        c = self.cell_px
        top = self._top_h(pos)
        m = 0.05 * c
        rounded_rect(img, (m, m, c - m, top - m), 0.08 * c, _STOVE)
        rounded_rect(img, (m, m, c - m, top - m), 0.08 * c, shade(_STOVE, 0.55), max(1.0, c / 40))
        self._draw_knobs(img, pos, (124, 128, 138))

    def _draw_knobs(self, img: np.ndarray, pos: Position, color: Color) -> None:
        c = self.cell_px
        m, top = 0.05 * c, self._top_h(pos)
        for kx in (2.1 * m, c - 2.1 * m):
            circle(img, kx, top - 2.1 * m, 0.04 * c, color)
            line(img, kx, top - 2.1 * m, kx, top - 2.1 * m - 0.03 * c, _STOVE, max(1.0, c / 64))

    def _pot_geometry(self, pos: Position) -> tuple[float, float, float]:
        top = self._top_h(pos)
        return self.cell_px / 2, top / 2, min(self.cell_px, top) * 0.37

    def _draw_pot(self, img: np.ndarray, pos: Position, soup: Soup | None) -> None:
        c = self.cell_px
        cx, cy, r = self._pot_geometry(pos)
        t = max(1.0, c / 40)
        if soup is not None and self.mdp.soup_is_cooking(soup):  # the burner is lit
            self._draw_knobs(img, pos, _FLAME)
            circle(img, cx, cy, r * 1.12, _FLAME)
        for side in (-1, 1):  # handles
            hx, hw, hh = cx + side * r, 0.1 * c, 0.045 * c
            rounded_rect(img, (hx - hw, cy - hh, hx + hw, cy + hh), 0.04 * c, _STEEL_DARK)
        circle(img, cx, cy, r, _STEEL)
        circle(img, cx, cy, r, _STEEL_DARK, t)
        circle(img, cx, cy, r * 0.84, _STEEL_LIGHT, max(1.0, c / 48))
        inside = _POT_INSIDE if soup is None or soup.is_idle else soup_color(soup.ingredients)
        circle(img, cx, cy, r * 0.78, inside)
        if soup is None:
            return
        # One slot per ingredient the pot holds, filled in the order they went in.
        slots = max(self.mdp.max_ingredients, len(soup.ingredients))
        dot_r = r * (0.26 if slots <= 3 else 0.2)
        width = r * (1.02 if slots <= 3 else 1.14)
        for k, (dx, dy) in enumerate(dot_row(slots, cx, cy + 0.06 * r, width)):
            if k < len(soup.ingredients):
                draw_dot(img, soup.ingredients[k], dx, dy, dot_r)
            else:
                circle(img, dx, dy, dot_r * 0.8, shade(inside, 1.25), max(1.0, c / 64))

    def _draw_pot_status(self, pos: Position, soup: Soup, img: np.ndarray) -> None:
        """The pot, and its cooking ring and ticks left, or its ready ring, check mark and steam."""
        self._draw_pot(img, pos, soup)
        if soup.is_idle:
            return
        c = self.cell_px
        cx, cy, r = self._pot_geometry(pos)
        total = self.mdp.soup_time(soup)
        ready = self.mdp.soup_is_ready(soup)
        ring_r, t = r * 1.22, max(2.0, 0.045 * c)
        circle(img, cx, cy, ring_r, (34, 34, 40), t + max(1.0, c / 32))
        frac = 1.0 if ready or total <= 0 else min(1.0, soup.cooking_tick / total)
        if frac > 0:
            color = _READY if ready else _COOKING
            ellipse(img, cx, cy, ring_r, ring_r, color, t, -90, 0, 360 * frac)
        br = max(6.0, 0.16 * c)
        bx, by = c - br - 0.02 * c, br + 0.02 * c
        if ready:
            j = np.arange(5)
            for k in (-1, 0, 1):  # steam
                xs = cx + k * r * 0.45 + 0.03 * c * np.sin(1.4 * j + 2 * k)
                wisp = list(zip(xs, cy - r * 0.3 - 0.05 * c * j, strict=True))
                poly(img, wisp, (252, 252, 252), max(1.0, c / 36), closed=False)
            circle(img, bx, by, br, _READY)
            circle(img, bx, by, br, shade(_READY, 0.5), max(1.0, c / 48))
            check = [(-0.45, 0.02), (-0.1, 0.38), (0.5, -0.35)]
            tick = [(bx + br * u, by + br * v) for u, v in check]
            poly(img, tick, (255, 255, 255), max(1.5, br / 4.5), closed=False)
        else:
            ticks = str(max(0, math.ceil(total - soup.cooking_tick)))
            circle(img, bx, by, br, (34, 34, 40))
            circle(img, bx, by, br, _COOKING, max(1.0, c / 48))
            thick = max(1, round(c / 48))
            scale = scale_for(br * 0.85, BOLD)
            while text_size(ticks, scale, thick, BOLD)[0] > br * 1.5 and scale > 0.25:
                scale *= 0.9
            text(img, ticks, bx, by, scale, (255, 255, 255), thick, font=BOLD)

    def _draw_serving(self, img: np.ndarray, pos: Position) -> None:
        c = self.cell_px
        top = self._top_h(pos)
        m = 0.08 * c
        rounded_rect(img, (m, m, c - m, top - m), 0.06 * c, _STEEL_DARK)
        rounded_rect(img, (1.6 * m, 1.6 * m, c - 1.6 * m, top - 1.6 * m), 0.04 * c, _STEEL)
        n = 4
        for k in range(n):  # rollers of the pass-through
            yk = 1.6 * m + (k + 0.5) * (top - 3.2 * m) / n
            line(img, 1.9 * m, yk, c - 1.9 * m, yk, _STEEL_LIGHT, max(1.0, c / 40))
        bx, by = c / 2, top / 2 + 0.09 * c  # a service bell
        ellipse(img, bx, by + 0.02 * c, 0.22 * c, 0.065 * c, _BELL_DARK)
        ellipse(img, bx, by, 0.17 * c, 0.17 * c, _BELL, -1, 0, 180, 360)
        ellipse(img, bx, by, 0.17 * c, 0.17 * c, _BELL_DARK, max(1.0, c / 48), 0, 180, 360)
        ellipse(img, bx - 0.06 * c, by - 0.09 * c, 0.045 * c, 0.025 * c, (255, 242, 196), angle=-30)
        circle(img, bx, by - 0.19 * c, 0.035 * c, _BELL_DARK)

    def _draw_counter_item(self, pos: Position, item: Item, img: np.ndarray) -> None:
        draw_item(img, item, self.cell_px / 2, self._top_h(pos) / 2, 0.28 * self.cell_px)

    # ------------------------------------------------------------ chefs

    def _draw_chef(
        self, orientation: int, held: Item | None, color: Color, label: str, img: np.ndarray
    ) -> None:
        """A chef seen from above, in the middle of the cell ``img``."""
        c = self.cell_px
        dx, dy = DIRECTIONS[orientation]
        px, py = -dy, dx  # across the facing direction

        def at(ahead: float, side: float = 0.0) -> tuple[float, float]:
            """The point ``ahead`` cells in front of the cell's centre and ``side`` across."""
            return (c * (0.5 + dx * ahead + px * side), c * (0.5 + dy * ahead + py * side))

        dark, thin = shade(color, 0.58), max(1.0, c / 64)
        bx, by = at(-0.07)  # the body's centre
        shadow = img.copy()  # a soft shadow on the floor, under the body
        ellipse(shadow, bx + 0.03 * c, by + 0.05 * c, 0.33 * c, 0.3 * c, (0, 0, 0))
        cv2.addWeighted(shadow, 0.18, img, 0.82, 0, dst=img)
        # Arms reach forward from the shoulders to the hands.
        hands = [at(0.27, s * 0.2) for s in (-1, 1)]
        for s, (hx, hy) in zip((-1, 1), hands, strict=True):
            sx, sy = at(-0.07, s * 0.23)
            line(img, sx, sy, hx, hy, dark, 0.12 * c + 2 * thin)
            line(img, sx, sy, hx, hy, color, 0.12 * c)
        # The body: shoulders in the chef's colour.
        angle = math.degrees(math.atan2(py, px))
        ellipse(img, bx, by, 0.32 * c, 0.2 * c, color, angle=angle)
        ellipse(img, bx, by, 0.32 * c, 0.2 * c, dark, max(1.0, c / 40), angle=angle)
        # The head: the face (eyes) shows on the facing side of the toque.
        hx, hy = at(-0.04)
        circle(img, hx, hy, 0.175 * c, _SKIN)
        circle(img, hx, hy, 0.175 * c, _SKIN_DARK, thin)
        for s in (-1, 1):
            circle(img, *at(0.07, s * 0.07), max(0.8, 0.024 * c), _EYE)
        tx, ty = at(-0.095)
        circle(img, tx, ty, 0.14 * c, _HAT)
        circle(img, tx, ty, 0.14 * c, _HAT_EDGE, thin)
        thick = max(1, round(c / 48))
        text(img, label, tx, ty, scale_for(0.12 * c, BOLD), dark, thick, font=BOLD)
        # What the chef holds, between the hands.
        if held is not None:
            draw_item(img, held, *at(0.3), 0.2 * c)
        for hx, hy in hands:
            circle(img, hx, hy, 0.065 * c, _SKIN)
            circle(img, hx, hy, 0.065 * c, _SKIN_DARK, thin)
        # A pointer at the edge of the cell.
        tri = [at(0.49), at(0.37, 0.12), at(0.37, -0.12)]
        poly(img, tri, color)
        poly(img, tri, dark, thin)

    # ------------------------------------------------------------ the HUD

    def _layout_hud(self) -> int:
        c = self.cell_px
        self._pad = max(4.0, 0.1 * c)
        self._ticket_h = max(18.0, 0.6 * c)
        self._dot_r = self._ticket_h * 0.14
        slots = max(1, self.mdp.max_ingredients)
        self._ticket_w = max(self._ticket_h, 2 * self._dot_r * 1.3 * slots + self._pad)
        self._line_h = max(16.0, 0.34 * c)
        self._score_w = max(44.0, 1.3 * c)
        gap = self._pad * 0.6
        usable = self._grid_w - 2 * self._pad - self._score_w
        self._per_row = max(1, int((usable + gap) // (self._ticket_w + gap)))
        n = len(self.mdp.start_orders.all)
        self._order_rows = min(3, max(1, math.ceil(n / self._per_row)))
        rows_h = self._order_rows * self._ticket_h + (self._order_rows - 1) * gap
        self._orders_h = self._pad + rows_h
        self._text_y = self._orders_h + self._pad * 0.7 + self._line_h / 2
        return round(self._text_y + self._line_h / 2 + self._pad * 0.7)

    def _orders_patch(self, orders: Orders) -> np.ndarray:
        """The orders' tickets (cached: a kitchen's orders rarely change)."""
        key = (orders.all, orders.bonus)
        patch = self._orders.get(key)
        if patch is not None:
            return patch
        patch = np.empty((round(self._orders_h), round(self._grid_w - self._score_w), 3), np.uint8)
        patch[:] = _HUD
        capacity = self._per_row * self._order_rows
        shown: list[Recipe] = list(orders.all)
        extra = 0
        if len(shown) > capacity:
            extra = len(shown) - capacity + 1
            shown = shown[: capacity - 1]
        gap = self._pad * 0.6
        for k, recipe in enumerate([*shown, None] if extra else shown):
            row, col = divmod(k, self._per_row)
            w, h = self._ticket_w, self._ticket_h
            tx, ty = self._pad + col * (w + gap), self._pad + row * (h + gap)
            if recipe is None:
                scale = scale_for(h * 0.3, minimum=0.4)
                text(patch, f"+{extra}", tx + w / 2, ty + h / 2, scale, _HUD_TEXT)
            else:
                self._draw_ticket(patch, recipe, orders, tx, ty)
        if len(self._orders) > 64:
            self._orders.clear()
        self._orders[key] = patch
        return patch

    def _draw_ticket(
        self, img: np.ndarray, recipe: Recipe, orders: Orders, x: float, y: float
    ) -> None:
        w, h = self._ticket_w, self._ticket_h
        bonus = recipe in orders.bonus
        radius = h * 0.14
        rounded_rect(img, (x, y, x + w, y + h), radius, _GOLD if bonus else _TICKET)
        inset = max(1.5, h / 14) if bonus else 0.0
        rounded_rect(img, (x + inset, y + inset, x + w - inset, y + h - inset), radius, _TICKET)
        edge = shade(_GOLD, 0.7) if bonus else _TICKET_EDGE
        rounded_rect(img, (x, y, x + w, y + h), radius, edge, max(1.0, h / 32))
        ings = ingredients_of(recipe)
        show_value = h >= 30
        dots_y = y + (h * 0.4 if show_value else h * 0.55)
        spread = 2 * self._dot_r * 1.25 * (len(ings) - 1)
        for ing, (dx, dy) in zip(ings, dot_row(len(ings), x + w / 2, dots_y, spread), strict=True):
            draw_dot(img, ing, dx, dy, self._dot_r)
        if show_value:
            value = f"{orders.delivery_value.get(recipe, 0):g}"
            scale = scale_for(h * 0.19, minimum=0.35)
            text(img, value, x + w / 2, y + h * 0.79, scale, _TICKET_TEXT)
        if bonus:
            star(img, x + w - h * 0.06, y + h * 0.08, h * 0.22, _GOLD, shade(_GOLD, 0.5))

    def _draw_hud(
        self, frame: np.ndarray, state: KitchenState, score: float | None, step_info: str | None
    ) -> None:
        patch = self._orders_patch(state.orders)
        frame[: patch.shape[0], : patch.shape[1]] = patch
        pad = self._pad
        if score is not None:  # the score, big, on the right
            value = float(score)
            shown = f"{value:g}" if value.is_integer() and abs(value) < 1e9 else f"{value:.1f}"
            right, h = self._grid_w - pad, self._ticket_h
            labelled = h >= 30  # small HUDs show the number alone
            if labelled:
                label = scale_for(h * 0.2, minimum=0.3)
                lw, _ = text_size("SCORE", label, 1)
                text(frame, "SCORE", right - lw, pad + h * 0.12, label, _HUD_DIM, left=True)
            thick = max(1, round(h / 30))
            big = scale_for(h * (0.42 if labelled else 0.55), BOLD)
            while text_size(shown, big, thick, BOLD)[0] > self._score_w - pad and big > 0.3:
                big *= 0.9
            bw, _ = text_size(shown, big, thick, BOLD)
            y = pad + h * (0.64 if labelled else 0.5)
            text(frame, shown, right - bw, y, big, _GOLD, thick, font=BOLD, left=True)
        # The timestep, then the step text, on one line.
        scale = scale_for(self._line_h * 0.6, minimum=0.4)
        y = self._text_y
        t_text = f"t {state.timestep}"
        tw, _ = text_size(t_text, scale, 1)
        text(frame, t_text, pad, y, scale, _HUD_TEXT, left=True)
        info = step_info if step_info is not None else self.mdp.name
        info = " ".join(part.strip() for part in info.expandtabs(2).splitlines() if part.strip())
        x = pad + tw + self._line_h
        room = self._grid_w - pad - x
        if text_size(info, scale, 1)[0] > room:
            while info and text_size(info + "...", scale, 1)[0] > room:
                info = info[:-1]
            info = info.rstrip() + "..." if info else ""
        if info:
            circle(frame, x - self._line_h / 2, y, max(1.5, self._line_h * 0.08), _HUD_DIM)
            color = _HUD_TEXT if step_info is not None else _HUD_DIM
            text(frame, info, x, y, scale, color, left=True)
