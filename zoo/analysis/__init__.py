"""Structural analysis: pure functions of an nn.Module (layers, params/MACs, receptive fields)."""
from zoo.analysis.layers import (
    MAX_INPUT_SIZE,
    InputSizeError,
    ModelSummary,
    rollup,
    summarize,
    summarize_module,
)

__all__ = ["MAX_INPUT_SIZE", "InputSizeError", "ModelSummary", "rollup", "summarize", "summarize_module"]
