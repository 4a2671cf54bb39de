"""Our pointings on Treasure Map: planned when a plan is approved, completed when the facility says a field was
observed, cancelled when it will not be. The plan side records what Treasure Map should have
(:class:`SharedPointing` ``status``); the outbox's Treasure Map lane sends what it has not acknowledged yet
(``reported``), so retries and restarts never send anything twice.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select

from bot.config import Settings
from bot.coordination.bands import Band, band_for
from bot.coordination.treasuremap import Pointing, Status, TreasureMap, TreasureMapError, naive_utc
from bot.delivery.actions import ShareWithTreasureMap
from bot.delivery.errors import Rejected, RetryLater
from bot.delivery.outbox import Sender, enqueue
from bot.plans.build import visit_filters
from bot.plans.facilities import Instrument
from bot.store.coordination import SharedPointing
from bot.store.delivery import Delivery
from bot.store.plans import PlanRecord

log = logging.getLogger(__name__)

__all__ = ["cancel", "complete", "handler", "link_requests", "plan_pointings", "shared"]

GRACEID_WAIT_S = 12 * 3600.0  # Treasure Map ingests LVK alerts itself; an event it lacks is waited for this long
SUPEREVENT = re.compile(r"^S\d{6}[a-z]{1,4}$")  # mock (MS…) and test (TS…) events are not shared


def shared(settings: Settings, event_id: str, instrument: Instrument) -> bool:
    return bool(settings.coordination.treasuremap_api_token) and instrument.treasuremap_instrument_id is not None \
        and SUPEREVENT.match(event_id) is not None


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def plan_pointings(session, plan: PlanRecord, instrument: Instrument, settings: Settings) -> int:
    """On approval, inside its transaction: each field in each band as a planned pointing at the start of the
    field's window, with the expected depth (Treasure Map keeps a planned pointing's band and depth when it is
    completed); the report is queued. Returns how many were added."""
    if not shared(settings, plan.event_id, instrument) or instrument.treasuremap_instrument_id is None:
        return 0
    summary = plan.summary or {}
    windows = [r["windows"][0]["start"] for r in (plan.payload or {}).get("requests", [])]
    depth = instrument.depth_ab(float(summary.get("exposure_s", 300.0)))
    added = 0
    for i, f in enumerate(summary.get("fields", [])):
        start = windows[i] if i < len(windows) else summary["window_start"]
        for name in visit_filters(f, summary):
            band = band_for(name)
            session.add(SharedPointing(
                plan_id=plan.id, event_id=plan.event_id, rank=int(f["rank"]),
                instrument_id=instrument.treasuremap_instrument_id, ra=float(f["ra_deg"]), dec=float(f["dec_deg"]),
                band=band.name, central_wave=band.central_wave, bandwidth=band.bandwidth, depth=depth,
                depth_estimated=True, planned_time=_epoch(start), status=Status.PLANNED.value))
            added += 1
    if added:
        enqueue(session, ShareWithTreasureMap(plan.event_id), event_id=plan.event_id)
    return added


def link_requests(session, plan_id: int, request_ids: list[str]) -> None:
    """The facility's request for each field: requests are made in field order, one per field."""
    for row in session.scalars(select(SharedPointing).where(SharedPointing.plan_id == plan_id)):
        if 0 < row.rank <= len(request_ids):
            row.request_id = request_ids[row.rank - 1]


def _rows(session, plan_id: int, request_id: str | None):
    query = select(SharedPointing).where(SharedPointing.plan_id == plan_id,
                                         SharedPointing.status == Status.PLANNED.value)
    if request_id is not None:
        query = query.where(SharedPointing.request_id == request_id)
    return list(session.scalars(query))


def complete(session, plan_id: int, request_id: str, observed: float | None) -> int:
    """The facility observed the request's field: its pointings are completed (at ``observed``, else now)."""
    rows = _rows(session, plan_id, request_id)
    for row in rows:
        row.status, row.observed_time = Status.COMPLETED.value, observed or time.time()
    if rows:
        enqueue(session, ShareWithTreasureMap(rows[0].event_id), event_id=rows[0].event_id)
    return len(rows)


def cancel(session, plan_id: int, request_id: str | None = None) -> int:
    """The plan (or one request of it) will not be observed: its planned pointings are cancelled."""
    rows = _rows(session, plan_id, request_id)
    for row in rows:
        row.status = Status.CANCELLED.value
    if rows:
        enqueue(session, ShareWithTreasureMap(rows[0].event_id), event_id=rows[0].event_id)
    return len(rows)


# --- the outbox's Treasure Map lane -----------------------------------------------------------------

@dataclass(frozen=True)
class _Row:
    id: int
    tm_id: int | None
    status: Status
    reported: str | None
    pointing: Pointing


def _pointing(row: SharedPointing, status: Status) -> Pointing:
    when = row.observed_time if status is Status.COMPLETED and row.observed_time else row.planned_time
    return Pointing(ra=round(row.ra, 6), dec=round(row.dec, 6), instrument_id=row.instrument_id,
                    time=datetime.fromtimestamp(when, UTC), status=status,
                    band=Band(row.band, row.central_wave, row.bandwidth), depth=row.depth, id=row.tm_id)


def _key(p: Pointing) -> tuple:
    return round(p.ra % 360.0, 4), round(p.dec, 4), p.band.name, naive_utc(p.time), p.status.value


def _outstanding(session, event_id: str) -> list[_Row]:
    rows = session.scalars(select(SharedPointing).where(
        SharedPointing.event_id == event_id,
        or_(SharedPointing.reported.is_(None), SharedPointing.reported != SharedPointing.status),
        or_(SharedPointing.reported.is_(None), SharedPointing.reported != "refused")).order_by(SharedPointing.id))
    out = []
    for row in rows:
        status = Status(row.status)
        out.append(_Row(row.id, row.tm_id, status, row.reported, _pointing(row, status)))
    return out


def _send(client: TreasureMap, event_id: str, rows: list[_Row]) -> dict[int, tuple[str, int | None]]:
    """Talk to Treasure Map; return row id -> (what it now has, its pointing id)."""
    done: dict[int, tuple[str, int | None]] = {}
    for r in rows:
        if r.tm_id is None and r.status is Status.CANCELLED:
            done[r.id] = (Status.CANCELLED.value, None)  # never reached Treasure Map: nothing to take back
        elif r.tm_id is None and r.status is Status.COMPLETED and r.pointing.depth is None:
            log.error("pointing %s of %s was observed but has no depth (set the instrument's typical_depth_ab): "
                      "Treasure Map needs one", r.id, event_id, extra={"event_id": event_id})
            done[r.id] = ("refused", None)
    new = [r for r in rows if r.tm_id is None and r.id not in done]
    if new:
        posted = client.post(event_id, [r.pointing for r in new])
        if len(posted.ids) == len(new):
            done |= {r.id: (r.status.value, i) for r, i in zip(new, posted.ids, strict=True)}
        else:  # some were there already (an earlier attempt got through) or refused: find ours by what they are
            have = {_key(p): p.id for p in client.pointings(event_id, instrument=new[0].pointing.instrument_id)}
            for r in new:
                found = have.get(_key(r.pointing))
                done[r.id] = (r.status.value, found) if found is not None else ("refused", None)
            if posted.refused:
                log.error("Treasure Map refused %s pointings of %s: %s", len(posted.refused), event_id,
                          "; ".join(posted.refused)[:500], extra={"event_id": event_id})
    completing = [r for r in rows if r.tm_id is not None and r.status is Status.COMPLETED]
    if completing:
        posted = client.post(event_id, [replace(r.pointing, id=r.tm_id) for r in completing])
        if posted.refused:
            log.error("Treasure Map refused completing pointings of %s: %s", event_id, "; ".join(posted.refused)[:500],
                      extra={"event_id": event_id})
        done |= {r.id: (Status.COMPLETED.value, r.tm_id) for r in completing}
    cancelling = [r for r in rows if r.tm_id is not None and r.status is Status.CANCELLED]
    if cancelling:
        client.cancel([r.tm_id for r in cancelling if r.tm_id is not None])
        done |= {r.id: (Status.CANCELLED.value, r.tm_id) for r in cancelling}
    return done


def handler(settings: Settings, clock: Callable[[], float] = time.time) -> Sender:
    """The outbox's way of making a :class:`ShareWithTreasureMap` delivery."""
    client = TreasureMap(settings.coordination.treasuremap_api_url, settings.coordination.treasuremap_api_token)

    def make(session, delivery: Delivery, action: Any):
        if not settings.coordination.treasuremap_api_token:
            raise Rejected("TREASUREMAP_API_TOKEN is not set: pointings are not shared")
        event_id, created = action.event_id, delivery.created
        rows = _outstanding(session, event_id)

        def call() -> dict[int, tuple[str, int | None]]:
            if not rows:
                return {}
            try:
                return _send(client, event_id, rows)
            except TreasureMapError as exc:
                if exc.unknown_event and clock() - created < GRACEID_WAIT_S:
                    raise RetryLater(f"Treasure Map does not know {event_id} yet", after=600.0) from None
                if exc.retry:
                    raise RetryLater(str(exc), maybe_sent=exc.maybe_sent) from None
                raise Rejected(f"Treasure Map refused the pointings: {exc}") from None

        def finish(s2, _d, done: dict[int, tuple[str, int | None]]) -> None:
            for row_id, (reported, tm_id) in done.items():
                row = s2.get_one(SharedPointing, row_id)
                row.reported, row.tm_id = reported, tm_id if tm_id is not None else row.tm_id
            if done:
                log.info("Treasure Map has %s of %s's pointings updated", len(done), event_id,
                         extra={"event_id": event_id})

        return call, finish

    return make
