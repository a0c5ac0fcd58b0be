"""The package's figures (`citrus predict --plot`, the evaluation's results.png, the pre-training curve and
reconstructions): matplotlib `Figure`s of their own, never pyplot's, so that no backend is switched in the caller's
process (`matplotlib.use("Agg")` left a notebook's `plt.show()` showing nothing); a check that matplotlib can draw,
made before the work whose end a figure shows; colours and markers that stay apart however many classes or arms one
figure draws.

matplotlib is a core dependency (pyproject.toml), imported only where a figure is drawn so that `import citrus_hf` and
`citrus --help` stay quick. An install without it (removed, or installed with `--no-deps`) or an environment whose
MPLBACKEND names no backend raises `PlottingUnavailableError`, one line naming the fix.

Standard library only at import.
"""

from __future__ import annotations

import os
from typing import Any

# tab10 first (the look of a figure of up to 10 classes or arms), then the lighter halves of tab20's pairs, then
# tab20b and tab20c: 60 colours, no two the same (a test checks it); more classes than that sample a continuous map
QUALITATIVE_MAPS = ("tab10", "tab20", "tab20b", "tab20c")
# the markers that tell apart arms of one colour (a figure of more arms than tab10 has colours)
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


class PlottingUnavailableError(ImportError):
    """matplotlib cannot draw here: it is not installed, or MPLBACKEND names no backend of its. The message names the
    fix; the command line prints it as one line."""


def check_can_draw(purpose: str) -> None:
    """Raise `PlottingUnavailableError` ("`purpose` needs matplotlib, ...: the fix") unless matplotlib imports and can
    write a PNG. Made before the work a figure ends (hours of scoring): matplotlib reads MPLBACKEND when it is first
    imported, so a bad one failed only there."""
    try:
        import matplotlib.backends.backend_agg  # noqa: F401  (what `Figure.savefig` writes a PNG with)
        import matplotlib.figure  # noqa: F401
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] != "matplotlib":
            raise  # a dependency of matplotlib's own missing: a broken install, whose traceback says which
        raise PlottingUnavailableError(
            f"{purpose} needs matplotlib, a dependency of citrus-hf that is not installed here: pip install matplotlib"
        ) from None
    except ValueError as error:  # `import matplotlib` validates MPLBACKEND (and matplotlibrc) against its backends
        backend = os.environ.get("MPLBACKEND")
        if backend is None or "backend" not in str(error):
            raise PlottingUnavailableError(f"{purpose}: matplotlib cannot start: {error}") from None
        raise PlottingUnavailableError(
            f"{purpose} needs matplotlib, which refuses the environment's MPLBACKEND={backend!r} (not a backend it "
            "knows): unset MPLBACKEND, or set it to one such as Agg."
        ) from None


def new_figure(purpose: str, **options: Any):
    """A `matplotlib.figure.Figure(**options)` of its own (see the module's docstring), or `PlottingUnavailableError`
    naming `purpose` where matplotlib cannot draw."""
    check_can_draw(purpose)
    from matplotlib.figure import Figure

    return Figure(**options)


def distinct_colours(count: int) -> list[tuple[float, float, float, float]]:
    """`count` RGBA colours, no two the same: tab10's for up to 10 (the figures' look before more were needed), then
    the qualitative maps of `QUALITATIVE_MAPS` up to 60, and beyond that `count` points spread over the turbo map."""
    import matplotlib

    pairs = matplotlib.colormaps["tab20"].colors
    palette = [*pairs[::2], *pairs[1::2]]  # tab20's darker halves are tab10's colours, in tab10's order
    for name in QUALITATIVE_MAPS[2:]:
        palette += matplotlib.colormaps[name].colors
    if count > len(palette):
        turbo = matplotlib.colormaps["turbo"]
        return [turbo(index / max(count - 1, 1)) for index in range(count)]
    return [(*colour[:3], 1.0) for colour in palette[:count]]


def distinct_looks(count: int) -> list[tuple[tuple[float, float, float, float], str]]:
    """`count` (colour, marker) pairs, no two the same: tab10's colours with "o" for the first 10 (the look of a figure
    of up to 10 arms), then the same colours again with the next marker of `MARKERS`, and so on."""
    colours = distinct_colours(10)
    if count > len(colours) * len(MARKERS):  # more arms than pairs: a colour of its own each
        return [(colour, MARKERS[index % len(MARKERS)]) for index, colour in enumerate(distinct_colours(count))]
    return [(colours[index % len(colours)], MARKERS[index // len(colours)]) for index in range(count)]


def inches_wide(figure, artists) -> float:
    """The width in inches of the widest of `artists` (legends, tick labels) as `figure` draws them; 0 for none. What
    a figure widens by to hold them beside its axes, rather than squeezing the axes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = figure.canvas if isinstance(figure.canvas, FigureCanvasAgg) else FigureCanvasAgg(figure)
    renderer = canvas.get_renderer()
    return max((artist.get_window_extent(renderer).width / figure.dpi for artist in artists), default=0.0)


__all__ = [
    "MARKERS",
    "PlottingUnavailableError",
    "check_can_draw",
    "distinct_colours",
    "distinct_looks",
    "inches_wide",
    "new_figure",
]
