"""What people see of the candidates: a digest per event at most every GWBOT_CANDIDATE_DIGEST_SECONDS (details
and later detections in its thread), notes when a newer map moves a candidate out of the region, and the end of
the stream on retraction. Every post goes through the outbox; each is claimed with a conditional UPDATE on the
event's :class:`CandidateStream` row, so two workers never both post it."""

from __future__ import annotations

import logging
from collections import defaultdict

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from bot.commands.records import CandidateLine
from bot.delivery.actions import Post, ShowEvidence, Thread
from bot.delivery.outbox import enqueue
from bot.skymap.crossmatch import crossmatch, verdict
from bot.slack import blocks as bk
from bot.store import rows_changed
from bot.store.candidates import CandidateDetection, CandidateRecord, CandidateStream
from bot.store.events import Event
from bot.vetting import Status

from .active import Where, merger_mjd, where_to_post
from .evidence import evidence_of, rescore
from .match import Cuts, Target

__all__ = ["detail_message", "end_retracted", "line_of", "reevaluate", "send_due"]

log = logging.getLogger(__name__)


def line_of(row: CandidateRecord, merger: float | None, detections: int = 1) -> CandidateLine:
    return CandidateLine(
        row.event_id, row.broker, row.object_id, row.url, row.ra, row.dec, row.credible_level, row.density_per_deg2,
        row.density_3d, row.distance_cl, row.host_distance_mpc,
        row.first_mjd - merger if merger is not None else None, row.last_mjd, row.mag, row.band, row.reliability,
        row.inside, detections, tuple(row.aliases or ()), row.kn_score, Status(row.status or Status.NEW), row.status_by,
        row.status_reason, row.status_at, row.id)


def detail_message(session, row: CandidateRecord, merger: float | None) -> tuple[str, list]:
    """A candidate's message in the digest's thread, as its row stands now (posted, and edited after a vote)."""
    line = line_of(row, merger)
    reasons = verdict(line.credible_level, line.distance_cl, None, None)[1]
    if line.days_after_merger is not None:
        reasons.append(bk.days_after(line.days_after_merger))
    return bk.candidate_detail(line, reasons, evidence_of(session, row, merger, cutouts=False))


def _stream(session, event_id: str) -> None:
    """Make the event's stream row if it is missing (a concurrent worker may make it first)."""
    if session.get(CandidateStream, event_id) is None:
        try:
            with session.begin_nested():
                session.add(CandidateStream(event_id=event_id))
        except IntegrityError:
            pass


def _claim(session, event_id: str, *conditions, **values) -> bool:
    _stream(session, event_id)
    return rows_changed(session.execute(
        update(CandidateStream).where(CandidateStream.event_id == event_id, *conditions).values(**values))) == 1


def _thread_under(where: Where, digest_delivery: int | None) -> Thread | None:
    """Replies go under the digest; when the digest is itself a reply (no event channel), into the same thread."""
    if where.thread is not None or digest_delivery is None:
        return where.thread
    return Thread(delivery=digest_delivery)


def send_due(store, now: float, cuts: Cuts, every_s: float, evidence: int = 0) -> int:
    """Queue the digests (and later-detection notes) that are due; returns how many digests."""
    with store.session() as s:
        waiting = set(s.scalars(select(CandidateRecord.event_id).where(
            CandidateRecord.digest.is_(None), CandidateRecord.inside.is_(True))))
        waiting |= set(s.scalars(select(CandidateRecord.event_id).join(
            CandidateDetection, CandidateDetection.candidate_id == CandidateRecord.id).where(
            CandidateDetection.posted.is_(False), CandidateRecord.digest.is_not(None))))
    sent = 0
    for event_id in sorted(waiting):
        with store.session() as s:
            event = s.get(Event, event_id)
            where = where_to_post(event) if event is not None and not event.retracted else None
            if where is None or not _claim(s, event_id, CandidateStream.last_digest <= now - every_s,
                                           CandidateStream.ended.is_(False), last_digest=now):
                continue
            sent += _digest(s, event, where, evidence)
    return sent


def _digest(s, event: Event, where: Where, evidence: int) -> int:
    merger = merger_mjd(event)
    rows = list(s.scalars(select(CandidateRecord).where(CandidateRecord.event_id == event.event_id)))
    new = [r for r in rows if r.digest is None and r.inside]
    posted = 0
    if new:
        lines = {r.id: line_of(r, merger) for r in new}
        text, blocks = bk.candidate_digest(event.event_id, list(lines.values()))
        digest = enqueue(s, Post(where.channel, text, blocks, where.thread), event_id=event.event_id)
        ranked = sorted(new, key=lambda r: lines[r.id].rank_key())
        for row in ranked:
            row.digest = digest.id
        thread = _thread_under(where, digest.id)
        for rank, row in enumerate(ranked[:bk.DIGEST_SHOWN]):  # the others are one /gw candidates away
            text, blocks = detail_message(s, row, merger)
            row.detail = enqueue(s, Post(where.channel, text, blocks, thread), event_id=event.event_id).id
            if rank < evidence:  # the best ones' pictures, drawn in the evidence lane, uploaded into the thread
                enqueue(s, ShowEvidence(row.id, where.channel, thread), event_id=event.event_id)
        posted = 1
        log.info("candidate digest queued", extra={"event_id": event.event_id, "candidates": len(new)})
    known = {r.id: r for r in rows if r.digest is not None}
    later: dict[int, dict[int, list[CandidateDetection]]] = defaultdict(lambda: defaultdict(list))
    for det in s.scalars(select(CandidateDetection).where(
            CandidateDetection.candidate_id.in_(list(known)), CandidateDetection.posted.is_(False))):
        later[known[det.candidate_id].digest or 0][det.candidate_id].append(det)
        det.posted = True
    for digest_id, by_candidate in later.items():  # one post per digest thread, whatever the number of objects
        updates = [(line_of(known[cid], merger), [(d.mjd, d.band, d.mag) for d in dets])
                   for cid, dets in by_candidate.items()]
        text, blocks = bk.candidate_detections(updates)
        enqueue(s, Post(where.channel, text, blocks, _thread_under(where, digest_id)), event_id=event.event_id)
    return posted


def reevaluate(store, target: Target, cuts: Cuts) -> int:
    """The event has a newer map: judge its candidates again; a posted one that leaves (or re-enters) the region
    is said in its digest's thread. Returns how many moved."""
    moved = 0
    with store.session() as s:
        if not _claim(s, target.event_id, (CandidateStream.map_version.is_(None))
                      | (CandidateStream.map_version != target.map_version), map_version=target.map_version):
            return 0
        event = s.get(Event, target.event_id)
        where = where_to_post(event) if event is not None else None
        rows = list(s.scalars(select(CandidateRecord).where(CandidateRecord.event_id == target.event_id,
                                                            CandidateRecord.map_version != target.map_version)))
        if not rows:
            return 0
        r = crossmatch(target.prepared, np.array([row.ra for row in rows]), np.array([row.dec for row in rows]),
                       np.array([row.host_distance_mpc or np.nan for row in rows]))
        merger = target.merger_mjd
        for i, row in enumerate(rows):
            cl = float(r.credible_level[i])
            inside = cl == cl and cl <= cuts.max_cl
            row.map_version, row.credible_level = target.map_version, cl if cl == cl else 1.0
            row.density_per_deg2 = float(r.probdensity_per_deg2[i]) if cl == cl else 0.0
            if row.host_distance_mpc is not None:
                dcl, d3 = float(r.distance_credible_level[i]), float(r.probdensity_vol_per_mpc3[i])
                row.distance_cl, row.density_3d = (dcl if dcl == dcl else None), (d3 if d3 == d3 else None)
            rescore(s, row, merger)
            if inside != row.inside:
                row.inside = inside
                moved += 1
                if row.digest is not None and where is not None:
                    text, blocks = bk.candidate_moved(line_of(row, target.merger_mjd), inside, cuts.max_cl)
                    enqueue(s, Post(where.channel, text, blocks, _thread_under(where, row.digest)),
                            event_id=target.event_id)
    if moved:
        log.info("newer sky map moved candidates", extra={"event_id": target.event_id, "moved": moved,
                                                          "map_version": target.map_version})
    return moved


def end_retracted(store) -> list[str]:
    """Say once, for each retracted event that had candidates, that its candidate stream ended."""
    ended = []
    with store.session() as s:
        events = list(s.scalars(select(CandidateRecord.event_id).join(Event, Event.event_id == CandidateRecord.event_id)
                                .where(Event.retracted.is_(True)).distinct()))
    for event_id in events:
        with store.session() as s:
            if not _claim(s, event_id, CandidateStream.ended.is_(False), ended=True):
                continue
            event = s.get_one(Event, event_id)
            where = where_to_post(event)
            if where is not None:
                text, blocks = bk.candidate_stream_ended(event_id, "the event was retracted, so no more candidates "
                                                                   "are matched against it.")
                enqueue(s, Post(where.channel, text, blocks, where.thread), event_id=event_id)
            ended.append(event_id)
    return ended

