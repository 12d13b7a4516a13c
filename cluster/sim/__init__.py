"""The local Spot EKS simulator: AWS (moto + the behaviour it lacks) and a Kubernetes API on
loopback, with the controllers that make a cluster of it.  Public face: Simulator, SimConfig."""

from cluster.sim.config import ConfigError, SimConfig, Timings, load_config
from cluster.sim.simulator import Simulator

__all__ = ["ConfigError", "SimConfig", "Simulator", "Timings", "load_config"]
