"""Evaluation: the low-data protocol, label budgets x seeds x arms (CiTrus pre-trained with each objective, from
scratch, its CNN-only and transformer-only ablations, and PatchTST) -> JSON, CSV, Markdown and a plot (`protocol`,
`baselines`, `report`; the protocol's settings in `settings`); evaluation records read back for model cards
(`records`); and the multimodal fusion experiment on a real picture-viewing task (`multimodal`, imported on demand).

The names below are loaded on first use (PEP 562), so `citrus_hf.evaluation.settings` (the protocol's settings,
torch-free) imports without torch: `citrus evaluate --help` answers in about a second.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes

if TYPE_CHECKING:
    from .arms import ARMS, Arm, register_arm
    from .protocol import ProtocolResult, pretrain_arms, run_protocol
    from .records import EvalRecord, parse_eval_results
    from .report import markdown_tables, plot_results, pretraining_gains, summarize, write_report
    from .settings import DEFAULT_ARMS, ProtocolConfig

# public name -> the module of this package that defines it
_NAMES = {
    "ARMS": "arms",
    "Arm": "arms",
    "register_arm": "arms",
    "DEFAULT_ARMS": "settings",
    "ProtocolConfig": "settings",
    "ProtocolResult": "protocol",
    "pretrain_arms": "protocol",
    "run_protocol": "protocol",
    "EvalRecord": "records",
    "parse_eval_results": "records",
    "markdown_tables": "report",
    "plot_results": "report",
    "pretraining_gains": "report",
    "summarize": "report",
    "write_report": "report",
}

# The same names as `_NAMES` (a literal list, for linters and type checkers), as in the package root.
__all__ = [
    "ARMS",
    "DEFAULT_ARMS",
    "Arm",
    "EvalRecord",
    "ProtocolConfig",
    "ProtocolResult",
    "markdown_tables",
    "parse_eval_results",
    "plot_results",
    "pretrain_arms",
    "pretraining_gains",
    "register_arm",
    "run_protocol",
    "summarize",
    "write_report",
]


__getattr__, __dir__ = lazy_attributes(__name__, _NAMES, globals())
