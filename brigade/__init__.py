"""brigade: a control stack for teams of embodied agents.

The core package holds the types every component shares: :class:`Action`,
:class:`JointPlan`, :class:`Outcome`, the :class:`TaskEnv` interface and its
read-only :class:`PlannerView`, the error hierarchy, the registries and config
loading. The subpackages (``brigade.envs``, ``brigade.agents``, ...) build on it.
"""

from brigade.action import Action
from brigade.errors import (
    ActionParseError,
    BrigadeError,
    ConfigError,
    DescriptionParseError,
    InputError,
    LayoutError,
    PlanError,
    RegistryError,
    StateError,
)
from brigade.plan import JointPlan, Outcome
from brigade.task_env import PlannerView, TaskEnv, wait_plan

__version__ = "0.1.0"

__all__ = [
    "Action",
    "ActionParseError",
    "BrigadeError",
    "ConfigError",
    "DescriptionParseError",
    "InputError",
    "JointPlan",
    "LayoutError",
    "Outcome",
    "PlanError",
    "PlannerView",
    "RegistryError",
    "StateError",
    "TaskEnv",
    "__version__",
    "wait_plan",
]
