"""Evaluation: the low-data protocol, label budgets x seeds x arms (CiTrus pre-trained with each objective, from
scratch, its CNN-only and transformer-only ablations, and PatchTST) -> JSON, CSV, Markdown and a plot (`protocol`,
`baselines`, `report`); evaluation records read back for model cards (`records`); and the multimodal fusion
experiment on a real picture-viewing task (`multimodal`, imported on demand)."""

from .arms import ARMS, Arm, register_arm
from .protocol import DEFAULT_ARMS, ProtocolConfig, ProtocolResult, pretrain_arms, run_protocol
from .records import EvalRecord, parse_eval_results
from .report import markdown_tables, plot_results, pretraining_gains, summarize, write_report

__all__ = [
    "ARMS",
    "DEFAULT_ARMS",
    "Arm",
    "EvalRecord",
    "register_arm",
    "ProtocolConfig",
    "ProtocolResult",
    "markdown_tables",
    "parse_eval_results",
    "plot_results",
    "pretrain_arms",
    "pretraining_gains",
    "run_protocol",
    "summarize",
    "write_report",
]
