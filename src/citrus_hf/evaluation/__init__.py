"""The low-data evaluation protocol: label budgets x seeds x arms (CiTrus pre-trained with each objective, from
scratch, its CNN-only and transformer-only ablations, and PatchTST) -> JSON, CSV, Markdown and a plot."""

from .protocol import ARMS, DEFAULT_ARMS, Arm, ProtocolConfig, ProtocolResult, pretrain_arms, run_protocol
from .report import markdown_tables, plot_results, pretraining_gains, summarize, write_report

__all__ = [
    "ARMS",
    "DEFAULT_ARMS",
    "Arm",
    "ProtocolConfig",
    "ProtocolResult",
    "markdown_tables",
    "plot_results",
    "pretrain_arms",
    "pretraining_gains",
    "run_protocol",
    "summarize",
    "write_report",
]
