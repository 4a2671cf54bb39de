"""Each event's sky maps, read and ranked once per version, for the commands and the plans."""

from __future__ import annotations

import threading
from collections import OrderedDict

from bot.skymap.io import read_skymap
from bot.skymap.prepared import PreparedMap, prepare
from bot.store import Store
from bot.store.events import SkymapVersion, latest_map_query

__all__ = ["MapCache"]


class MapCache:
    """Prepared sky maps by version: each version is read and ranked once."""

    def __init__(self, store: Store, size: int = 8) -> None:
        self.store = store
        self.size = size
        self._maps: OrderedDict[int, PreparedMap] = OrderedDict()
        self._lock = threading.Lock()

    def latest(self, event_id: str, kind: str = "gw") -> tuple[int, PreparedMap] | None:
        """The event's newest map by alert time: the GW-only localization, or ``kind="combined"``."""
        with self.store.session() as s:
            version = s.scalar(latest_map_query(event_id, kind).with_only_columns(SkymapVersion.id))
            if version is None:
                return None
            with self._lock:
                if version in self._maps:
                    self._maps.move_to_end(version)
                    return version, self._maps[version]
            fits = s.get_one(SkymapVersion, version).fits
        prepared = prepare(read_skymap(fits))
        with self._lock:
            self._maps[version] = prepared
            while len(self._maps) > self.size:
                self._maps.popitem(last=False)
        return version, prepared
