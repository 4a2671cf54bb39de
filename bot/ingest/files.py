"""Open what a user points the bot at: an alert file (.avro, .json) or a FITS sky map."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from bot.ingest.gwalert import AlertError, GWAlert, parse_bytes
from bot.skymap.io import SkyMap, SkymapError, read_skymap


@dataclass(frozen=True)
class Source:
    """A sky map and, when it came inside an alert, that alert (and its combined GW x external map, if any)."""

    skymap: SkyMap
    alert: GWAlert | None
    combined: SkyMap | None = None

    @property
    def observatory(self) -> str | None:
        """The external coincidence's observatory, for the combined map."""
        return self.alert.external_coinc.observatory if self.alert and self.alert.external_coinc else None

    def pick(self, which: str) -> SkyMap:
        """``"gw"`` (the event's localization) or ``"combined"``; a clear error when there is no combined map."""
        if which == "combined":
            if self.combined is None:
                raise SkymapError("this alert has no combined (GW x external coincidence) sky map")
            return self.combined
        return self.skymap


def load(path: str | Path) -> Source:
    """Read a file by its content (Avro, JSON or FITS, gzipped or not)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise SkymapError(f"cannot read {path}: {exc.strerror}") from exc
    if data[:4] == b"Obj\x01" or data.lstrip()[:1] == b"{":
        alert = parse_bytes(data)
        if alert.skymap is None:
            raise AlertError(f"{alert.superevent_id} {alert.alert_type} alert carries no sky map")
        combined = read_skymap(alert.combined_skymap) if alert.combined_skymap is not None else None
        return Source(read_skymap(alert.skymap), alert, combined)
    return Source(read_skymap(data), None)


def topic_for(data: bytes) -> str:
    """The stream topic a saved message came from, judged by its content (for replay)."""
    if data[:4] == b"Obj\x01":
        return "igwn.gwalert"
    try:
        record = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return "unknown"
    if not isinstance(record, dict):
        return "unknown"
    if "superevent_id" in record:
        return "igwn.gwalert"
    if "circularId" in record or ("header" in record and "body" in record):
        return "gcn.circular"
    schema = str(record.get("$schema", ""))
    if "/notices/" in schema:
        path = schema.split("/notices/", 1)[1].replace(".schema.json", "")
        return "gcn.notices." + path.replace("/", ".").replace("single_neutrino_alerts.", "")
    return "unknown"


def load_catalogue(path: str | Path):
    """A galaxy catalogue (CSV or FITS) with columns ra, dec (degrees) and distance (Mpc)."""
    import numpy as np
    from astropy.table import Table

    from bot.plans.planner import Catalogue

    try:
        table = Table.read(str(path), format="fits" if str(path).lower().endswith((".fits", ".fit", ".fits.gz"))
                           else "ascii.csv")
    except (OSError, ValueError) as exc:
        raise SkymapError(f"cannot read galaxy catalogue {path}: {exc}") from exc
    names = {n.lower(): n for n in table.colnames}
    columns = []
    for wanted in (("ra", "ra_deg", "raj2000"), ("dec", "dec_deg", "dej2000"), ("distance", "dist", "d_l", "dl")):
        name = next((names[w] for w in wanted if w in names), None)
        if name is None:
            raise SkymapError(f"galaxy catalogue {path} has no {wanted[0]} column "
                              f"(columns: {', '.join(table.colnames)})")
        columns.append(np.asarray(table[name], dtype=float))
    good = np.all([np.isfinite(c) for c in columns], axis=0) & (columns[2] > 0)
    return Catalogue(*(c[good] for c in columns))
