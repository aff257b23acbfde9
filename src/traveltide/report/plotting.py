"""How the report draws: matplotlib on the Agg backend, its style, colours and PNG bytes.

Drawn at twice the resolution they are shown at (`SCALE`): the page sizes each image in CSS
pixels from its PNG header (`css_size`), so text stays sharp on high-density screens and in
print, and fonts are set in points that read at about 13 px on a laptop screen. matplotlib is
imported on the first drawing, not with this module. PNG metadata is stripped, so the bytes do
not depend on the installed matplotlib version.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from traveltide.report.names import PERK_NAMES

CSS_DPI = 96  # CSS pixels per inch
SCALE = 2  # PNG pixels per CSS pixel
DPI = CSS_DPI * SCALE
WIDTH_IN = 7.2  # the page's figure width: 691 CSS px
_PNG_META = {"Software": None}  # no matplotlib version in the file: same bytes across installs
STYLE = {
    "font.size": 10,
    "axes.titlesize": 11.5,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "xtick.labelsize": 9.5,
    "ytick.labelsize": 9.5,
    "legend.fontsize": 9.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlelocation": "left",
    # laid out once, as drawn: no second drawing to crop the margins (savefig's "tight")
    "figure.constrained_layout.use": True,
}
# one colour per perk and per arm, the same in every plot
PERK_COLOURS = dict(
    zip(PERK_NAMES, ("#4c78a8", "#f58518", "#54a24b", "#b279a2", "#e45756"), strict=True)
)
ARM_COLOURS = {"A": "#4c78a8", "B": "#f58518", "C": "#9d9d9d"}
MUTED = "#9d9d9d"


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend, imported on first use (it costs ~0.5 s)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@contextmanager
def styled() -> Iterator[Any]:
    """pyplot with the report's style for the figures drawn inside."""
    plt = pyplot()
    with plt.rc_context(STYLE):
        yield plt


def png(fig: Any) -> bytes:
    """The figure as PNG bytes; the figure is closed (pyplot keeps every open one)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata=_PNG_META)
    pyplot().close(fig)
    return buf.getvalue()


def css_size(data: bytes) -> tuple[int, int]:
    """The size a PNG is shown at, in CSS pixels: its pixel size over `SCALE`."""
    width, height = struct.unpack(">II", data[16:24])
    return width // SCALE, height // SCALE


def perk_colour(perk: str) -> str:
    return PERK_COLOURS.get(perk, MUTED)
