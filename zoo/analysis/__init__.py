"""Structural analysis: pure functions of an nn.Module (layers, params/MACs, receptive fields)."""
from zoo.analysis.layers import InputSizeError, ModelSummary, rollup, summarize, summarize_module

__all__ = ["InputSizeError", "ModelSummary", "rollup", "summarize", "summarize_module"]
