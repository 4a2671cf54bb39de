"""The sky-map core: read LVK maps into plain arrays, rank them once, and answer the questions an astronomer
asks (credible areas, most probable position, distance, how plausible a position is), and draw them.
Science functions over arrays, no I/O beyond reading the bytes they are given."""

from bot.skymap.crossmatch import Crossmatch, crossmatch, verdict, verdict_text
from bot.skymap.io import SkyMap, SkymapError, read_skymap
from bot.skymap.prepared import PreparedMap, prepare
from bot.skymap.render import Labels, labels_for, render_png
from bot.skymap.summary import Summary, summarize

__all__ = ["Crossmatch", "Labels", "PreparedMap", "SkyMap", "SkymapError", "Summary", "crossmatch", "labels_for",
           "prepare", "read_skymap", "render_png", "summarize", "verdict", "verdict_text"]
