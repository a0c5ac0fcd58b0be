"""The package version, in a module of its own so that the command line can show it without importing the package.

A saved config.json / preprocessor_config.json records the citrus-hf that wrote it (`VERSION_KEY`), so that a reader
can tell the settings of a newer citrus-hf, which upgrading it puts to use, from keys no version knows (a typo, an
edit): `newer_citrus_hf`. The model files import this module, so it travels with them as remote code.
"""

from __future__ import annotations

import re

__version__ = "0.1.0"

# The key of a saved file that names the citrus-hf that wrote it (a record of the file, not a setting).
VERSION_KEY = "citrus_hf_version"


def _release(version: str) -> tuple[int, ...]:
    """The release numbers of `version`, without trailing zeros ("0.2.0.dev1" -> (0, 2)); () for no version."""
    match = re.match(r"\s*v?(\d+(?:\.\d+)*)", version)
    numbers = [int(part) for part in match.group(1).split(".")] if match else []
    while numbers and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers)


def newer_citrus_hf(recorded: object) -> str | None:
    """`recorded` (a saved file's `VERSION_KEY` value) when it names a citrus-hf release newer than this one, else None
    (this version or an older one, or no version: a file written before the key existed)."""
    if not isinstance(recorded, str):
        return None
    return recorded if _release(recorded) > _release(__version__) else None


def newer_settings_message(where: str, newer: str, settings: list[str], unused: str, upgraded: str) -> str:
    """The warning of a file `where` (as the message begins: "This checkpoint's config.json") that citrus-hf `newer`
    wrote, holding `settings` (shown as they are, e.g. `'name'`) this version does not know: of that version, which
    this one leaves `unused` ("ignores them"), until upgraded to do what the file says (`upgraded`: "load the model as
    it was saved"). One wording for the config's, the extractor's and the fusion processor's readers."""
    return (
        f"{where} was written by citrus-hf {newer}, newer than this one ({__version__}): its settings "
        f"{', '.join(settings)} are of that version, and this one {unused}. Upgrade citrus-hf "
        f"(`pip install -U citrus-hf`) to {upgraded}."
    )
