"""Dimensions both physics backends build from: table, bin walls, tools, cameras.

The MuJoCo and PyBullet worlds read every size, offset, colour and mass here,
so the two engines simulate the same scene and differ only in their physics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from brigade.envs.table.geometry import Vec3

#: Physics time step of both engines (seconds).
TIMESTEP = 0.002
TABLE_THICKNESS = 0.05
TABLE_RGBA = (0.72, 0.6, 0.45, 1.0)
FLOOR_Z = -0.75
#: Thickness of the bin's walls and floor.
WALL = 0.008
#: Sliding friction of objects, fingers and the table.
FRICTION = 1.0


@dataclass(frozen=True)
class Camera:
    """A fixed camera: where it is and what it looks at (world frame)."""

    name: str
    position: Vec3
    target: Vec3
    fovy: float = 45.0


#: The cameras every run can record from.
CAMERAS = (
    Camera("front", (0.0, -1.45, 1.15), (0.0, 0.15, 0.2)),
    Camera("top", (0.0, -0.001, 1.9), (0.0, 0.0, 0.0)),
)


@dataclass(frozen=True)
class ToolPart:
    """One rigid part of a tool, in the frame of the link that carries it.

    Tools ride on the iiwa's ``lbr_iiwa_link_7``, whose flange face lies
    4.5 cm along its z axis; positions below start there.

    Attributes:
        name: Geom name (unique per arm).
        shape: ``box`` (``size`` = half extents) or ``cylinder`` (radius, half length, unused).
        size: See ``shape``.
        position: Centre in the flange frame (z points out of the flange).
        rgba: Colour.
        mass: Kilograms.
        tilt: Rotation about the part's x axis (radians).
    """

    name: str
    shape: str
    size: Vec3
    position: Vec3
    rgba: tuple[float, float, float, float]
    mass: float
    tilt: float = 0.0


_BLUE = (0.25, 0.45, 0.7, 1.0)
_GREY = (0.3, 0.3, 0.35, 1.0)
_DARK = (0.2, 0.2, 0.2, 1.0)
_WOOD = (0.55, 0.35, 0.2, 1.0)
_STRAW = (0.85, 0.7, 0.3, 1.0)

#: The dustpan, in link 7's frame (z points down when the pan lies flat): a
#: plate whose top face is at ``PAN_TOP`` along z, open towards +y, with a
#: short ramp down to the table in front of the open edge so a swept cube
#: slides up onto it instead of stubbing on the plate's edge; side and back
#: walls; the handle meets the back wall, so nothing stands on the plate.
PAN_TOP = 0.245
PAN_HALF = (0.05, 0.075, 0.002)  # plate: width, depth, thickness (three cubes in a row)
PAN_RAMP = (0.02, 0.006)  # length along +y, drop below the plate's top face
PAN_WALL = 0.025  # half height of the walls
_ramp_angle = math.atan2(PAN_RAMP[1], PAN_RAMP[0])
# Open towards +y, so the pan faces +x (the broom) with the wrist near the
# middle of its range: facing -y, the wrist sits by its stop and the arm
# must flip to carry a load across the table.
_open_edge = 2 * PAN_HALF[1]
_RAMP = ToolPart(
    "dustpan_ramp",
    "box",
    (PAN_HALF[0], math.hypot(*PAN_RAMP) / 2, PAN_HALF[2]),
    (
        0.0,
        _open_edge + PAN_RAMP[0] / 2 - PAN_HALF[2] * math.sin(_ramp_angle),
        PAN_TOP + PAN_RAMP[1] / 2 + PAN_HALF[2] * math.cos(_ramp_angle),
    ),
    _BLUE,
    0.01,
    tilt=_ramp_angle,
)
_WALL_Z = PAN_TOP + 2 * PAN_HALF[2] - PAN_WALL
#: The orientation (w, x, y, z) of the dustpan's tool frame lying level, open
#: towards +x: pointing down (half a turn about x), then a quarter turn about z.
PAN_LEVEL = (0.0, math.sqrt(0.5), math.sqrt(0.5), 0.0)

#: The tools' parts.
TOOL_PARTS: dict[str, tuple[ToolPart, ...]] = {
    "suction": (ToolPart("suction_cup", "cylinder", (0.02, 0.02, 0), (0, 0, 0.065), _DARK, 0.05),),
    "broom": (
        ToolPart("broom_handle", "cylinder", (0.012, 0.12, 0), (0, 0, 0.165), _WOOD, 0.1),
        ToolPart("broom_head", "box", (0.015, 0.04, 0.02), (0, 0, 0.305), _STRAW, 0.1),
    ),
    "dustpan": (
        ToolPart("dustpan_handle", "cylinder", (0.012, (_WALL_Z - PAN_WALL - 0.045) / 2, 0),
                 (0, 0, (_WALL_Z - PAN_WALL + 0.045) / 2), _GREY, 0.1),
        ToolPart("dustpan_plate", "box", PAN_HALF, (0, PAN_HALF[1], PAN_TOP + PAN_HALF[2]),
                 _BLUE, 0.1),
        _RAMP,
        ToolPart("dustpan_back", "box", (PAN_HALF[0], 0.004, PAN_WALL), (0, 0.0, _WALL_Z),
                 _BLUE, 0.02),
        ToolPart("dustpan_side1", "box", (0.002, PAN_HALF[1], PAN_WALL),
                 (PAN_HALF[0], PAN_HALF[1], _WALL_Z), _BLUE, 0.02),
        ToolPart("dustpan_side2", "box", (0.002, PAN_HALF[1], PAN_WALL),
                 (-PAN_HALF[0], PAN_HALF[1], _WALL_Z), _BLUE, 0.02),
    ),
}  # fmt: skip
#: The tool frame in the frame of link 7: the cup's face, the broom head's bottom
#: edge, the top of the dustpan's plate. Grippers use the robot model's
#: ``tool_offset`` along z (between the fingertips).
TOOL_FRAME: dict[str, Vec3] = {
    "suction": (0.0, 0.0, 0.085),
    "broom": (0.0, 0.0, 0.325),
    "dustpan": (0.0, PAN_HALF[1], PAN_TOP),
}
