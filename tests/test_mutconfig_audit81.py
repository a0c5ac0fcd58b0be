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


# ------------------------------------------------------------------------------------------- extras


def test_a_missing_package_is_named_once_however_many_of_its_modules_are_needed():
    from citrus_hf._extras import MissingExtraError, check_installed

    with pytest.raises(MissingExtraError) as refused:
        check_installed(["no_such_toolkit.a", "no_such_toolkit.b", "aeon_is_not_this"], "The 'mine' arm")
    assert str(refused.value) == (
        "The 'mine' arm needs no_such_toolkit and aeon_is_not_this, which are not installed: install no_such_toolkit "
        "and aeon_is_not_this (not a dependency of citrus-hf: e.g. pip install no_such_toolkit aeon_is_not_this)."
    )
