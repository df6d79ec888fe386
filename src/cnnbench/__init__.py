"""cnnbench: measure, explain and predict CNN inference across engines and processors."""

from cnnbench.errors import BadInput, CnnbenchError, Unsupported
from cnnbench.spec import Budget, ModelRef, RunSpec, Target

__version__ = "0.1.0"

__all__ = [
    "BadInput",
    "Budget",
    "CnnbenchError",
    "ModelRef",
    "RunSpec",
    "Target",
    "Unsupported",
    "__version__",
]
