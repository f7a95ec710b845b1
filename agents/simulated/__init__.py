"""The simulated LLM: the embedded default backend (not a real model; see :mod:`.model`)."""

from brigade.agents.simulated.config import SimConfig, config_hash
from brigade.agents.simulated.model import SimulatedLLM

__all__ = ["SimConfig", "SimulatedLLM", "config_hash"]
