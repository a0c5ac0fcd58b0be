"""Audit 74, the README's account of this round's changes held against the code: each claim a test can hold is
checked here (a README check reads the text; the code's own behaviour is tested where it was changed)."""

from __future__ import annotations

import re
from pathlib import Path

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _sentence_before(text: str, position: int) -> str:
    """The text from the start of the sentence holding `position` up to it (a sentence starts after ". ")."""
    return text[text.rfind(". ", 0, position) + 2 : position]


def test_the_readme_names_every_transformers_adapter_method_that_needs_a_newer_peft():
    """transformers' adapter methods that the model refuses under a peft older than transformers asks for
    (`modeling_citrus._PEFT_MODEL_EQUIVALENTS`) are those the install paragraph names: it named `set_adapter` and
    `save_pretrained` alone, and `delete_adapter`, `add_adapter`, ... were refused in a user's hands unannounced."""
    from citrus_hf.modeling_citrus import _PEFT_MODEL_EQUIVALENTS

    install = README[README.index("It needs torch >=") :]
    install = install[: install.index("\n\n")]
    assert "peft >= 0.22" in install
    missing = [method for method in _PEFT_MODEL_EQUIVALENTS if not re.search(rf"`(model\.)?{method}`", install)]
    assert not missing, f"the install paragraph does not name {missing}"


def test_the_readme_shows_transformers_set_adapter_with_the_peft_it_needs():
    """The adapters paragraph showed `model.load_adapter(folder, adapter_name="b")` then `model.set_adapter("b")`
    (transformers' API on the model) as working, where the newest peft the README was run on (0.21.2) refuses it:
    every sentence that shows transformers' `model.set_adapter(` names the peft it needs."""
    shown = [match.start() for match in re.finditer(r"`model\.set_adapter\(", README)]
    assert shown
    for position in shown:
        assert "peft >= 0.22" in _sentence_before(README, position), _sentence_before(README, position)
