"""A stored candidate's evidence: its merged light curve, the kilonova score kept on its row (for ordering the
digests), and the whole evidence record a message and a picture are made from."""

from __future__ import annotations

from bot.brokers.record import Candidate, Cutouts, Point
from bot.delivery.actions import ShowEvidence, Upload
from bot.delivery.outbox import Sender, enqueue
from bot.store.candidates import CandidateCutouts, CandidateRecord
from bot.store.delivery import Delivery
from bot.store.events import Event
from bot.vetting import Evidence, KilonovaScore, facts, kilonova_score, merge
from bot.vetting.picture import evidence_png

from .active import merger_mjd

__all__ = ["add_alert", "evidence_of", "points_of", "rescore", "sender"]


def points_of(row: CandidateRecord) -> tuple[Point, ...]:
    return tuple(Point.from_json(p) for p in row.photometry or ())


def _flat(scores: dict | None) -> dict[str, float]:
    return {name: value for by_broker in (scores or {}).values() for name, value in by_broker.items()}


def rescore(row: CandidateRecord, merger_mjd: float | None) -> KilonovaScore:
    """Score the row's light curve and place again, and keep the result on the row."""
    score = kilonova_score(facts(points_of(row), merger_mjd), row.credible_level, row.distance_cl, _flat(row.scores))
    row.kn_score, row.kn_reasons = score.points, score.to_json()
    return score


def add_alert(session, row: CandidateRecord, c: Candidate, merger_mjd: float | None, new: bool = False) -> None:
    """Merge an alert's light curve, scores and stamps into the candidate's row (``new``: made for this alert),
    and score it again."""
    own = c.photometry or ((Point(c.mjd, c.band, c.mag, None, False, c.broker),)
                           if c.mag is not None and c.band else ())
    row.photometry = [p.to_json() for p in merge(points_of(row), own)]
    if c.scores:
        row.scores = {**(row.scores or {}), c.broker: dict(c.scores)}
    if c.cutouts is not None:
        stored = None if new else session.get(CandidateCutouts, row.id)
        if stored is None:
            session.add(CandidateCutouts(candidate_id=row.id, broker=c.broker, mjd=c.mjd, science=c.cutouts.science,
                                         template=c.cutouts.template, difference=c.cutouts.difference))
        elif c.mjd >= stored.mjd:
            stored.broker, stored.mjd = c.broker, c.mjd
            stored.science, stored.template, stored.difference = (c.cutouts.science, c.cutouts.template,
                                                                  c.cutouts.difference)
    rescore(row, merger_mjd)


def evidence_of(session, row: CandidateRecord, merger_mjd: float | None, cutouts: bool = True) -> Evidence:
    points = points_of(row)
    stamps = session.get(CandidateCutouts, row.id) if cutouts else None
    return Evidence(row.id, row.event_id, row.object_id, row.broker, points, facts(points, merger_mjd),
                    KilonovaScore.from_json(row.kn_reasons), dict(row.scores or {}),
                    Cutouts(stamps.science, stamps.template, stamps.difference) if stamps else None,
                    merger_mjd, row.host_distance_mpc, row.distance_cl)


def sender() -> Sender:
    """The ``evidence`` lane: draw the picture from the store, then queue its upload in the candidate's thread."""
    def make(session, _delivery: Delivery, action: ShowEvidence):
        row = session.get(CandidateRecord, action.candidate_id)
        event = session.get(Event, row.event_id) if row is not None else None
        if row is None or event is None:
            return (lambda: None), lambda *_: None
        evidence = evidence_of(session, row, merger_mjd(event))
        title = f"{row.object_id} ({row.broker}) for {row.event_id}: kilonova score {evidence.score.points:+.1f}"

        def call() -> bytes:
            return evidence_png(title, evidence.points, evidence.cutouts, evidence.merger_mjd)

        def finish(s, _d, png: bytes | None) -> None:
            if png:
                enqueue(s, Upload(action.channel, f"{row.object_id}-evidence.png", title, action.thread),
                        event_id=row.event_id, file=png)

        return call, finish

    return make
