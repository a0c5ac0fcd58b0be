"""Mutation audit 81 of the fusion configuration, the vocabulary, the command entry points (`citrus`, `citrus demo`,
`citrus push`, the scripts' boundary), the package's logging and its extras: guards for the mutants no test killed
(each passes on main and fails on its mutant), and the defects the audit found."""

from __future__ import annotations

import pytest

from citrus_hf.commands.main import main

# ------------------------------------------------------------------------------------------- citrus (main)


@pytest.mark.parametrize(
    ("code", "status", "said"), [("stopped: no labels", 1, "stopped: no labels\n"), (None, 0, ""), (3, 3, "")]
)
def test_a_command_ended_by_sys_exit_returns_the_status_python_gives(code, status, said, monkeypatch, capsys):
    """`sys.exit("message")` in a command's work (a user's code it runs, a library) ends a Python program with status
    1 and the message on stderr; `main` returned 0, a failed command reported as a success."""
    import citrus_hf.commands.demo

    def stopped(argv):
        raise SystemExit(code)

    monkeypatch.setattr(citrus_hf.commands.demo, "run", stopped)
    assert main(["demo"]) == status
    assert capsys.readouterr().err == said
