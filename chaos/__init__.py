"""spotchaos: Spot-interruption chaos and resilience harness for model serving on Kubernetes."""

from cluster.endpoints import Endpoints

__all__ = ["Endpoints", "__version__"]
__version__ = "0.1.0"
