"""The task names "classification" / "regression" are spelled once, in `vocabulary_citrus` (style audit 2, finding 4):
modules compare against `CLASSIFICATION` / `REGRESSION`, so a misspelt name is an undefined name, not a silent
else-branch."""

from __future__ import annotations

import ast
from pathlib import Path

from citrus_hf import vocabulary_citrus as vocabulary

PACKAGE = Path(vocabulary.__file__).resolve().parent
# Remote code that may import only each other (tests/test_inference.py): they spell the names out, checked below.
SPELT_OUT = {PACKAGE / "inference" / "pipelines.py", PACKAGE / "inference" / "backends.py"}
TASK_NAMES = frozenset(vocabulary.TASKS)


def _task_literals(source: str) -> list[int]:
    """The lines where `source` uses a task name as a bare string in code: a comparison, a dict key or value, an
    argument, a default. Docstrings and messages are longer strings, and `Literal[...]` hints need the literals."""
    tree = ast.parse(source)
    in_literal = {
        id(node)
        for hint in ast.walk(tree)
        if isinstance(hint, ast.Subscript) and getattr(hint.value, "id", getattr(hint.value, "attr", None)) == "Literal"
        for node in ast.walk(hint.slice)
    }
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and node.value in TASK_NAMES and id(node) not in in_literal
    ]


def test_the_scan_finds_bare_task_names():
    source = 'def f(task: Literal["regression"] = "classification"):\n    """A "regression" task."""\n'
    source += '    return {"regression": 1}[task] if task == "classification" else 0\n'
    assert sorted(_task_literals(source)) == [1, 3, 3]


def test_modules_compare_against_the_vocabulary_not_strings():
    found = [
        f"{path.relative_to(PACKAGE)}:{line}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path not in SPELT_OUT and path.name != "vocabulary_citrus.py"
        for line in _task_literals(path.read_text(encoding="utf-8"))
    ]
    assert not found, f"use vocabulary_citrus.CLASSIFICATION / REGRESSION instead of the string at {found}"


def test_task_tables_are_the_vocabulary():
    from citrus_hf.data import registry, splits
    from citrus_hf.inference.pipelines import PROBLEM_TASKS
    from citrus_hf.loading import FUSION_MODEL_TASKS, MODEL_TASKS

    assert vocabulary.TASKS == (vocabulary.CLASSIFICATION, vocabulary.REGRESSION) == ("classification", "regression")
    assert {"CLASSIFICATION", "REGRESSION", "TASKS"} <= set(vocabulary.__all__)
    # a dataset is built for pre-training or for one of the labelled tasks
    assert registry.TASKS == ("pretraining", *vocabulary.TASKS)
    assert splits.LABEL_TASKS is vocabulary.TASKS
    assert tuple(splits.LABELS) == vocabulary.TASKS
    # transformers' problem_type of a regressor, a regressor's loading task, and the remote-code pipelines' problems
    assert vocabulary.REGRESSION in vocabulary.PROBLEM_TYPES
    assert vocabulary.REGRESSION in MODEL_TASKS and vocabulary.REGRESSION in FUSION_MODEL_TASKS
    assert set(PROBLEM_TASKS) == {*vocabulary.TASKS, "encoder"}
    from citrus_hf.inference.backends import BACKENDS

    assert vocabulary.INFERENCE_BACKENDS == BACKENDS  # `citrus predict --backend` offers the pipelines' paths
