"""Plain geometry of the table: positions, regions, and the table's frame.

The world frame: the table top is the plane z = 0, x runs left to right as seen
by the camera in front of the table, y runs away from it, units are metres.
Robots stand on the far edge (positive y) and face the camera.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Vec3 = tuple[float, float, float]

#: The base yaw of an arm on the far edge that faces the camera (radians).
FACING_CAMERA = -math.pi / 2

#: Half the table's extent along x and y (the top is 1.6 m x 1.0 m).
TABLE_HALF = (0.8, 0.5)


@dataclass(frozen=True)
class Region:
    """An axis-aligned rectangle on the table (x and y bounds, metres)."""

    x_min: float
    x_max: float
    y_min: float
    y_max: float

    def __post_init__(self) -> None:
        if self.x_min > self.x_max or self.y_min > self.y_max:
            raise ValueError(f"empty region {self}")

    @classmethod
    def around(cls, x: float, y: float, half_x: float, half_y: float | None = None) -> Region:
        """The rectangle centred on (x, y) with the given half extents."""
        half_y = half_x if half_y is None else half_y
        return cls(x - half_x, x + half_x, y - half_y, y + half_y)

    @property
    def center(self) -> tuple[float, float]:
        """The centre (x, y)."""
        return ((self.x_min + self.x_max) / 2, (self.y_min + self.y_max) / 2)

    def contains(self, x: float, y: float, margin: float = 0.0) -> bool:
        """Whether (x, y) lies inside, shrunk by ``margin`` on every side."""
        return (
            self.x_min + margin <= x <= self.x_max - margin
            and self.y_min + margin <= y <= self.y_max - margin
        )

    def union(self, other: Region) -> Region:
        """The smallest rectangle holding both."""
        return Region(
            min(self.x_min, other.x_min),
            max(self.x_max, other.x_max),
            min(self.y_min, other.y_min),
            max(self.y_max, other.y_max),
        )


def planar_distance(a: Vec3 | tuple[float, float], b: Vec3 | tuple[float, float]) -> float:
    """Distance between two points in the table plane (z ignored)."""
    return math.hypot(a[0] - b[0], a[1] - b[1])
