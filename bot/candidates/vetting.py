"""The team's verdict on candidates: each vote kept (changing one's mind adds one), the latest on the candidate,
its message edited and the vote said in its thread, in the vote's own transaction; the scanning summary."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select

from bot.commands.records import CandidateLine, Scan
from bot.delivery.actions import Channel, Edit, Post, ShowEvidence, Thread
from bot.delivery.outbox import enqueue
from bot.slack import blocks as bk
from bot.store.candidates import CandidateRecord, CandidateVote
from bot.store.events import Event
from bot.vetting import Status

from .active import merger_mjd
from .digest import detail_message, line_of
from .evidence import evidence_of

__all__ = ["Vote", "ask_evidence", "scan", "vote"]


@dataclass(frozen=True)
class Vote:
    """One press of a verdict button (or the Not it form), and where its message is."""

    candidate_id: int
    user: str
    status: Status
    reason: str | None = None
    channel: str | None = None  # the candidate's message, to edit
    ts: str | None = None
    thread_ts: str | None = None  # its thread, for the note


def vote(store, v: Vote, now: float | None = None) -> CandidateLine | None:
    """Record the vote; None when the candidate is gone."""
    at = time.time() if now is None else now
    with store.session() as s:
        row = s.get(CandidateRecord, v.candidate_id)
        if row is None:
            return None
        s.add(CandidateVote(candidate_id=row.id, voter=v.user, status=v.status.value, reason=v.reason, at=at))
        row.status, row.status_reason, row.status_by, row.status_at = v.status.value, v.reason, v.user, at
        event = s.get_one(Event, row.event_id)
        merger = merger_mjd(event)
        line = line_of(row, merger)
        if v.channel and v.ts:
            channel = Channel(name=v.channel)
            enqueue(s, Edit(channel, v.ts, *detail_message(s, row, merger)), event_id=row.event_id)
            enqueue(s, Post(channel, bk.vote_said(line), thread=Thread(ts=v.thread_ts or v.ts)),
                    event_id=row.event_id)
        return line


def ask_evidence(store, candidate_id: int, channel: str, thread_ts: str | None) -> bool:
    """The Light curve button: draw and post the candidate's evidence picture in its thread."""
    with store.session() as s:
        row = s.get(CandidateRecord, candidate_id)
        if row is None:
            return False
        enqueue(s, ShowEvidence(row.id, Channel(name=channel), Thread(ts=thread_ts) if thread_ts else None),
                event_id=row.event_id)
    return True


def scan(store, event: Event) -> Scan:
    with store.session() as s:
        rows = list(s.scalars(select(CandidateRecord).where(CandidateRecord.event_id == event.event_id)))
        voters = Counter(s.scalars(select(CandidateVote.voter).join(
            CandidateRecord, CandidateRecord.id == CandidateVote.candidate_id).where(
            CandidateRecord.event_id == event.event_id)))
        merger = merger_mjd(event)
        chosen = sorted(((line_of(r, merger), evidence_of(s, r, merger, cutouts=False)) for r in rows
                         if r.status in (Status.INTERESTING, Status.FOLLOW_UP)), key=lambda x: x[0].rank_key())
    statuses = Counter(r.status or Status.NEW.value for r in rows)
    return Scan(event.event_id, len(rows), sum(n for st, n in statuses.items() if st != Status.NEW), dict(statuses),
                dict(voters), chosen)
