"""What a table task is made of, independent of the physics engine.

A :class:`SceneSpec` lists the arms (robot model, base pose, tool, the region
they work in) and the bodies (movable objects and fixed fixtures such as
panels, a bin or a cutting board). The MuJoCo and PyBullet backends both build
their worlds from it, so both engines simulate the same scene.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeVar

from brigade.envs.table.geometry import Region, Vec3

Shape = Literal["box", "cylinder"]
_Named = TypeVar("_Named", "BodySpec", "ArmSpec")
Tool = Literal["gripper", "suction", "broom", "dustpan"]
RobotModel = Literal["panda", "xarm6", "iiwa"]

#: The tools each arm model can carry: the Panda and the xArm6 ship with their
#: parallel grippers, so their flange is taken; the iiwa's bare flange takes a
#: suction cup or a tool.
TOOLS_OF_MODEL: dict[str, tuple[str, ...]] = {
    "panda": ("gripper",),
    "xarm6": ("gripper",),
    "iiwa": ("suction", "broom", "dustpan"),
}


@dataclass(frozen=True)
class BodySpec:
    """One rigid body on the table.

    Attributes:
        name: The name planners use (one token, e.g. ``blue_cube``).
        kind: What it is to the task (``cube``, ``food``, ``panel``, ``bin``, ``board``).
        shape: ``box`` (``size`` = half extents) or ``cylinder`` (``size`` =
            radius, half height, unused).
        size: See ``shape``.
        position: The centre at the episode's start.
        rgba: Colour.
        mass: Kilograms (ignored for fixed bodies).
        fixed: A fixture welded to the table (panels, bin, board).
        yaw: Rotation about z, radians.
    """

    name: str
    kind: str
    shape: Shape
    size: Vec3
    position: Vec3
    rgba: tuple[float, float, float, float]
    mass: float = 0.05
    fixed: bool = False
    yaw: float = 0.0

    @property
    def half_height(self) -> float:
        """Half the body's height."""
        return self.size[2] if self.shape == "box" else self.size[1]


@dataclass(frozen=True)
class ArmSpec:
    """One robot arm.

    Attributes:
        name: The agent's name (``Alice``, ``Bob``, ``Chad``, ``Dave``).
        model: The robot model (a URDF of ``pybullet_data``).
        base: The base position (on the table's far edge).
        yaw: The base's rotation about z, radians (facing the camera is -pi/2).
        tool: What the flange carries.
        reach: The region of the table the arm works in (the task's reach rule:
            RoCoBench splits the table between the arms this way).
    """

    name: str
    model: RobotModel
    base: Vec3
    yaw: float
    tool: Tool
    reach: Region

    def __post_init__(self) -> None:
        if self.tool not in TOOLS_OF_MODEL[self.model]:
            raise ValueError(
                f"{self.name}: a {self.model} carries {TOOLS_OF_MODEL[self.model]}, not {self.tool}"
            )


@dataclass(frozen=True)
class SceneSpec:
    """The arms and bodies of a task.

    Attributes:
        arms: In planning order.
        bodies: Movable objects and fixtures.
    """

    arms: tuple[ArmSpec, ...]
    bodies: tuple[BodySpec, ...]

    def __post_init__(self) -> None:
        names = [a.name for a in self.arms] + [b.name for b in self.bodies]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"scene names must be unique; repeated: {repeated}")

    def body(self, name: str) -> BodySpec:
        """The body called ``name``.

        Raises:
            KeyError: No such body.
        """
        return _named(self.bodies, name)

    def arm(self, name: str) -> ArmSpec:
        """The arm called ``name``.

        Raises:
            KeyError: No such arm.
        """
        return _named(self.arms, name)

    @property
    def movable(self) -> tuple[BodySpec, ...]:
        """The bodies that are not fixtures."""
        return tuple(b for b in self.bodies if not b.fixed)


def _named(items: tuple[_Named, ...], name: str) -> _Named:
    for item in items:
        if item.name == name:
            return item
    raise KeyError(f"no {name!r}; there are {[item.name for item in items]}")
