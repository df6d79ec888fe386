"""The model zoo: registry, families (one per file), user model loaders."""

from cnnbench.models._registry import (
    ModelInfo,
    create_model,
    get_model_info,
    is_builtin_ref,
    list_models,
    register_model,
)

__all__ = [
    "ModelInfo",
    "create_model",
    "get_model_info",
    "is_builtin_ref",
    "list_models",
    "register_model",
]
