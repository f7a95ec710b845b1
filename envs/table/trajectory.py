"""Time-parametrised joint trajectories that stay exactly on a checked path.

A joint path (waypoints of all moving arms' joints) is followed along its
straight segments with a jerk-limited profile from ``ruckig``. ruckig's
community edition computes offline profiles without intermediate waypoints,
so each piece is timed as a one-dimensional motion of its path parameter
``s`` from 0 to 1, with the limits of ``s`` the tightest that the joint limits
allow (``v_s = min_i v_i / |dq_i/ds|``, the same for acceleration and jerk).
The trajectory therefore never leaves the path that collision checking
approved; ``toppra`` would be faster through waypoints but cuts their
corners (docs/table.md).

Sparse paths (a planner's few waypoints) come to rest at every waypoint;
dense paths (a straight tool motion with an IK solution every centimetre) are
timed as one piece through all their points, whose corners are negligible.
"""

from __future__ import annotations

import numpy as np
import ruckig

#: Joint velocity, acceleration and jerk limits (rad/s, rad/s^2, rad/s^3): well
#: inside the Panda's, xArm6's and iiwa's datasheet limits.
MAX_VELOCITY = 1.2
MAX_ACCELERATION = 3.0
MAX_JERK = 30.0


def _profile(velocity: float, acceleration: float, jerk: float) -> ruckig.Trajectory:
    """A rest-to-rest jerk-limited profile of a parameter from 0 to 1."""
    generator = ruckig.Ruckig(1)
    parameters = ruckig.InputParameter(1)
    parameters.current_position = [0.0]
    parameters.target_position = [1.0]
    parameters.max_velocity = [velocity]
    parameters.max_acceleration = [acceleration]
    parameters.max_jerk = [jerk]
    trajectory = ruckig.Trajectory(1)
    result = generator.calculate(parameters, trajectory)
    if result not in (ruckig.Result.Working, ruckig.Result.Finished):
        raise RuntimeError(f"ruckig could not time a path segment: {result}")
    return trajectory


def _timed_piece(points: np.ndarray, period: float, speed: float) -> np.ndarray:
    """Samples every ``period`` seconds along a polyline, rest to rest, end point included."""
    steps = np.diff(points, axis=0)
    lengths = np.abs(steps).max(axis=1) if len(steps) else np.zeros(0)
    if len(steps) == 0 or lengths.sum() < 1e-9:
        last: np.ndarray = points[-1:].copy()
        return last
    # s runs over the polyline in proportion to each step's largest joint change,
    # so the fastest joint sets the pace everywhere along it.
    s_knots = np.concatenate([[0.0], np.cumsum(lengths)]) / lengths.sum()
    slope = lengths.sum()  # the largest |dq_i/ds| anywhere on the polyline
    trajectory = _profile(
        speed * MAX_VELOCITY / slope,
        speed * MAX_ACCELERATION / slope,
        speed * MAX_JERK / slope,
    )
    times = np.arange(period, trajectory.duration + period, period)
    s = np.array([trajectory.at_time(min(t, trajectory.duration))[0][0] for t in times])
    s = np.clip(s, 0.0, 1.0)
    samples = np.empty((len(times), points.shape[1]))
    for joint in range(points.shape[1]):
        samples[:, joint] = np.interp(s, s_knots, points[:, joint])
    samples[-1] = points[-1]
    return samples


def time_path(
    waypoints: np.ndarray, period: float, *, dense: bool = False, speed: float = 1.0
) -> np.ndarray:
    """Joint targets every ``period`` seconds along ``waypoints`` (first row: the start).

    Args:
        waypoints: (K, n) joint positions; the first is where the arms are.
        period: The control period (seconds).
        dense: Time the whole polyline as one piece (closely spaced waypoints)
            instead of stopping at every waypoint.
        speed: A fraction of the joint limits (slow, careful motions use less).

    Returns:
        (T, n) joint targets, the last exactly the final waypoint.
    """
    waypoints = np.asarray(waypoints, dtype=float)
    if waypoints.ndim != 2 or len(waypoints) == 0:
        raise ValueError(f"waypoints must be a non-empty (K, n) array, got {waypoints.shape}")
    if dense or len(waypoints) <= 2:
        return _timed_piece(waypoints, period, speed)
    pieces = [_timed_piece(waypoints[k : k + 2], period, speed) for k in range(len(waypoints) - 1)]
    return np.concatenate(pieces)
