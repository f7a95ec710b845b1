"""Drawing primitives and item sprites for the kitchen renderer.

The primitives wrap OpenCV's anti-aliased drawing calls: coordinates are
floats in pixels, passed to OpenCV in fixed point so that small shapes stay
round and smooth at small cell sizes. The sprites draw the kitchen's objects
(onions, tomatoes, plates, soups and ingredient tokens) at any size.
:class:`~brigade.envs.kitchen.render.KitchenRenderer` composes them into frames.

Every function draws in place on an RGB ``uint8`` image and is deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from brigade.envs.kitchen.state import Item, Soup

Color = tuple[int, int, int]
"""An RGB colour."""
Box = tuple[float, float, float, float]
"""A rectangle ``(x0, y0, x1, y1)`` in pixels."""

#: The fonts of :func:`text`: regular, and bold (for numbers and labels).
FONT = cv2.FONT_HERSHEY_SIMPLEX
BOLD = cv2.FONT_HERSHEY_DUPLEX

# The items' palette.
_ONION, _ONION_DARK = (240, 190, 80), (176, 120, 36)
_TOMATO, _TOMATO_DARK = (228, 60, 50), (150, 30, 26)
_LEAF, _LEAF_DARK = (96, 168, 64), (50, 110, 40)
_PLATE, _PLATE_SHADE, _PLATE_EDGE = (250, 250, 247), (224, 228, 232), (138, 144, 156)
_INGREDIENT_COLOR = {"onion": _ONION, "tomato": _TOMATO}
_INGREDIENT_EDGE = {"onion": _ONION_DARK, "tomato": _TOMATO_DARK}

_SHIFT = 4
_ONE = 1 << _SHIFT
_AA = cv2.LINE_AA


# ---------------------------------------------------------------- primitives
# Coordinates are floats in pixels, passed to OpenCV in fixed point (``shift``)
# so that small shapes stay round and smooth at small cell sizes. A thickness
# ``t < 0`` fills the shape; otherwise ``t`` is the outline's width in pixels.


def _pt(x: float, y: float) -> tuple[int, int]:
    return (round(x * _ONE), round(y * _ONE))


def _thick(t: float) -> int:
    return max(1, round(t))


def circle(img: np.ndarray, x: float, y: float, r: float, color: Color, t: float = -1) -> None:
    """A circle of radius ``r`` centred on ``(x, y)``: filled, or its outline ``t`` wide."""
    thickness = -1 if t < 0 else _thick(t)
    cv2.circle(img, _pt(x, y), max(1, round(r * _ONE)), color, thickness, _AA, _SHIFT)


def ellipse(
    img: np.ndarray,
    x: float,
    y: float,
    ax: float,
    ay: float,
    color: Color,
    t: float = -1,
    angle: float = 0.0,
    start: float = 0.0,
    end: float = 360.0,
) -> None:
    """An ellipse with half-axes ``ax`` and ``ay``, turned by ``angle`` degrees.

    Only the arc from ``start`` to ``end`` degrees is drawn (a pie slice when filled).
    """
    axes = (max(1, round(ax * _ONE)), max(1, round(ay * _ONE)))
    thickness = -1 if t < 0 else _thick(t)
    cv2.ellipse(img, _pt(x, y), axes, angle, start, end, color, thickness, _AA, _SHIFT)


def line(
    img: np.ndarray, x0: float, y0: float, x1: float, y1: float, color: Color, t: float
) -> None:
    """A straight line ``t`` wide from ``(x0, y0)`` to ``(x1, y1)``."""
    cv2.line(img, _pt(x0, y0), _pt(x1, y1), color, _thick(t), _AA, _SHIFT)


def poly(
    img: np.ndarray,
    pts: Sequence[tuple[float, float]],
    color: Color,
    t: float = -1,
    closed: bool = True,
) -> None:
    """A filled polygon (``t < 0``), or its outline (an open line if not ``closed``)."""
    arr = np.array([_pt(x, y) for x, y in pts], dtype=np.int32)
    if t < 0:
        cv2.fillPoly(img, [arr], color, _AA, _SHIFT)
    else:
        cv2.polylines(img, [arr], closed, color, _thick(t), _AA, _SHIFT)


def rounded_rect(img: np.ndarray, box: Box, r: float, color: Color, t: float = -1) -> None:
    """A rectangle ``(x0, y0, x1, y1)`` with corners rounded to radius ``r``."""
    x0, y0, x1, y1 = box
    r = max(0.0, min(r, (x1 - x0) / 2, (y1 - y0) / 2))
    corners = (
        (x1 - r, y0 + r, -90),
        (x1 - r, y1 - r, 0),
        (x0 + r, y1 - r, 90),
        (x0 + r, y0 + r, 180),
    )
    pts = [
        (cx + r * math.cos(math.radians(a0 + 15 * k)), cy + r * math.sin(math.radians(a0 + 15 * k)))
        for cx, cy, a0 in corners
        for k in range(7)
    ]
    poly(img, pts, color, t)


def star(img: np.ndarray, x: float, y: float, r: float, color: Color, edge: Color) -> None:
    """A five-pointed star of outer radius ``r``, filled with ``color`` and outlined in ``edge``."""
    pts = []
    for k in range(10):
        a = math.radians(-90 + 36 * k)
        rr = r if k % 2 == 0 else r * 0.45
        pts.append((x + rr * math.cos(a), y + rr * math.sin(a)))
    poly(img, pts, color)
    poly(img, pts, edge, max(1.0, r / 8))


def text_size(string: str, scale: float, thickness: int, font: int = FONT) -> tuple[int, int]:
    """The ``(width, height)`` in pixels of ``string`` drawn by :func:`text`."""
    (w, h), _ = cv2.getTextSize(string, font, scale, thickness)
    return w, h


def text(
    img: np.ndarray,
    string: str,
    x: float,
    y: float,
    scale: float,
    color: Color,
    thickness: int = 1,
    *,
    font: int = FONT,
    left: bool = False,
) -> None:
    """Draw text with its middle at ``y``, centred on ``x`` (or starting there if ``left``)."""
    w, h = text_size(string, scale, thickness, font)
    ox = round(x) if left else round(x - w / 2)
    cv2.putText(img, string, (ox, round(y + h / 2)), font, scale, color, thickness, _AA)


def scale_for(height_px: float, font: int = FONT, minimum: float = 0.25) -> float:
    """The font scale whose capital letters are ``height_px`` tall."""
    _, h = text_size("H", 1.0, 1, font)
    return max(minimum, height_px / h)


def shade(color: Color, f: float) -> Color:
    """Darken a colour (``f < 1``), or lighten it towards white (``f > 1``)."""
    if f <= 1:
        return (round(color[0] * f), round(color[1] * f), round(color[2] * f))
    g = min(1.0, f - 1)
    return (
        round(color[0] + (255 - color[0]) * g),
        round(color[1] + (255 - color[1]) * g),
        round(color[2] + (255 - color[2]) * g),
    )


# ---------------------------------------------------------------- items


def draw_onion(img: np.ndarray, x: float, y: float, r: float) -> None:
    """An onion of radius ``r`` centred on ``(x, y)``, its sprout pointing up."""
    t = max(1.0, r / 9)
    ellipse(img, x, y, r, 0.9 * r, _ONION)
    if r >= 7:  # the skin's lines and a highlight, only where they show
        for start, end in ((200, 340), (20, 160)):
            ellipse(img, x, y, 0.45 * r, 0.86 * r, _ONION_DARK, max(1.0, r / 14), 0, start, end)
        ellipse(img, x - 0.42 * r, y - 0.25 * r, 0.22 * r, 0.13 * r, (253, 234, 176), angle=-40)
    ellipse(img, x, y, r, 0.9 * r, _ONION_DARK, t)
    sprout = [(x - 0.2 * r, y - 0.78 * r), (x + 0.2 * r, y - 0.78 * r), (x + 0.08 * r, y - 1.3 * r)]
    poly(img, sprout, _LEAF)
    poly(img, sprout, _LEAF_DARK, max(1.0, r / 12))


def draw_tomato(img: np.ndarray, x: float, y: float, r: float) -> None:
    """A tomato of radius ``r`` centred on ``(x, y)``, its green calyx on top."""
    circle(img, x, y, r, _TOMATO)
    if r >= 7:
        ellipse(img, x - 0.42 * r, y - 0.3 * r, 0.24 * r, 0.14 * r, (255, 176, 164), angle=-35)
    circle(img, x, y, r, _TOMATO_DARK, max(1.0, r / 9))
    calyx = []
    for k in range(10):
        a = math.radians(-90 + 36 * k)
        rr = 0.55 * r if k % 2 == 0 else 0.2 * r
        calyx.append((x + rr * math.cos(a), y - 0.6 * r + 0.75 * rr * math.sin(a)))
    poly(img, calyx, _LEAF)
    circle(img, x, y - 0.6 * r, max(0.7, 0.11 * r), _LEAF_DARK)


def draw_plate(img: np.ndarray, x: float, y: float, r: float) -> None:
    """An empty plate (a dish) of radius ``r`` centred on ``(x, y)``."""
    circle(img, x + 0.05 * r, y + 0.09 * r, r, shade(_PLATE_EDGE, 0.8))  # a thin shadow
    circle(img, x, y, r, _PLATE)
    circle(img, x, y, r, _PLATE_EDGE, max(1.0, r / 12))
    circle(img, x, y, 0.68 * r, _PLATE_SHADE)


def draw_dot(img: np.ndarray, ingredient: str, x: float, y: float, r: float) -> None:
    """An ingredient as a small round token (in pots, soups and orders)."""
    circle(img, x, y, r, _INGREDIENT_COLOR[ingredient])
    circle(img, x, y, r, _INGREDIENT_EDGE[ingredient], max(1.0, r / 5))
    if r >= 3.5:
        if ingredient == "tomato":
            ellipse(img, x, y - 0.62 * r, 0.45 * r, 0.25 * r, _LEAF)
        else:
            line(img, x, y - 0.7 * r, x + 0.15 * r, y - 1.25 * r, _LEAF_DARK, max(1.0, r / 3.5))
        if r >= 5:
            circle(
                img, x - 0.35 * r, y - 0.2 * r, 0.22 * r, shade(_INGREDIENT_COLOR[ingredient], 1.5)
            )


def dot_row(n: int, x: float, y: float, width: float) -> list[tuple[float, float]]:
    """Centres of ``n`` dots spread evenly over ``width`` around ``x``."""
    if n <= 1:
        return [(x, y)] * n
    step = width / (n - 1)
    return [(x - width / 2 + k * step, y) for k in range(n)]


def soup_color(ingredients: Sequence[str]) -> Color:
    """The broth's colour: the ingredients' mean colour, darkened (a default when empty)."""
    if not ingredients:
        return (200, 150, 80)
    colors = [_INGREDIENT_COLOR[i] for i in ingredients]
    mean = (sum(c[k] for c in colors) / len(colors) for k in range(3))
    r, g, b = (round(v * 0.74) for v in mean)  # darker than the tokens floating in it
    return (r, g, b)


def draw_soup(img: np.ndarray, soup: Soup, x: float, y: float, r: float) -> None:
    """A soup in a bowl: a plate, the broth, and one token per ingredient."""
    draw_plate(img, x, y, r)
    broth = soup_color(soup.ingredients)
    circle(img, x, y, 0.74 * r, broth)
    circle(img, x, y, 0.74 * r, shade(broth, 0.7), max(1.0, r / 14))
    n = len(soup.ingredients)
    if n == 0:
        return
    if n == 1:
        spots = [(x, y)]
    else:  # a ring of tokens, the first at the top-left
        ring = 0.3 * r if n <= 3 else 0.36 * r
        spots = [
            (x + ring * math.cos(a), y + 0.05 * r + ring * math.sin(a))
            for a in (math.radians(-150 + 360 * k / n) for k in range(n))
        ]
    dot_r = 0.26 * r if n <= 3 else 0.21 * r
    for ing, (dx, dy) in zip(soup.ingredients, spots, strict=True):
        draw_dot(img, ing, dx, dy, dot_r)


def draw_item(img: np.ndarray, item: Item, x: float, y: float, r: float) -> None:
    """Any object, about ``r`` in radius, centred on ``(x, y)``."""
    if isinstance(item, Soup):
        draw_soup(img, item, x, y, r)
    elif item == "onion":
        draw_onion(img, x, y + 0.15 * r, 0.75 * r)
    elif item == "tomato":
        draw_tomato(img, x, y + 0.12 * r, 0.78 * r)
    else:
        draw_plate(img, x, y, r)
