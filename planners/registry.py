"""The planner registry: ``PLANNERS.build(name, config)`` builds any planner by name.

brigade's planners register themselves when their modules are imported (the
registry imports them on first use); third parties add planners through the
``brigade.planners`` entry-point group.
"""

from __future__ import annotations

from brigade.planner import Planner
from brigade.registry import Registry

PLANNERS: Registry[Planner] = Registry(
    "planner",
    "brigade.planners",
    builtins=(
        "brigade.planners.expert",
        "brigade.planners.central",
        "brigade.planners.react",
        "brigade.planners.reflexion",
        "brigade.planners.mindagent",
        "brigade.planners.roco",
        "brigade.planners.read",
    ),
)

#: The five LLM baselines of ReAd's comparison (the expert is the ceiling, not a baseline).
BASELINES = ("central", "react", "reflexion", "mindagent", "roco")

#: ReAd's planners and their single-proposal ablations.
READ_PLANNERS = ("read-s", "read-j", "read-s-single", "read-j-single")
