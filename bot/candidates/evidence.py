"""A candidate's evidence: each broker object's light curve, scores and stamps kept once per alert (whatever events
the object is a candidate of), the kilonova score kept on each event's candidate row (for ordering its digests),
and the whole evidence record a message and a picture are made from (the candidate's own object and its aliases
merged: the same source from several brokers is one light curve)."""

from __future__ import annotations

from bot.brokers.record import Candidate, Cutouts, Point
from bot.delivery.actions import ShowEvidence, Upload
from bot.delivery.outbox import Sender, enqueue
from bot.store.candidates import CandidateEvidence, CandidateRecord
from bot.store.delivery import Delivery
from bot.store.events import Event
from bot.vetting import Evidence, KilonovaScore, facts, kilonova_score, merge
from bot.vetting.picture import evidence_png

from .active import merger_mjd

__all__ = ["evidence_of", "keep_alerts", "points_of", "rescore", "sender"]


def _keys(row: CandidateRecord) -> list[tuple[str, str]]:
    """The broker objects that are this candidate: its own, then the aliases other brokers gave it."""
    return [(row.broker, row.object_id)] + [tuple(a.split(":", 1)) for a in row.aliases or () if ":" in a]  # type: ignore[misc]


def _kept(session, row: CandidateRecord) -> list[CandidateEvidence]:
    return [e for key in _keys(row) if (e := session.get(CandidateEvidence, key)) is not None]


def _points(kept: list[CandidateEvidence]) -> tuple[Point, ...]:
    return merge(*([Point.from_json(p) for p in e.photometry or ()] for e in kept))


def points_of(session, row: CandidateRecord) -> tuple[Point, ...]:
    """The candidate's light curve: every broker's alerts of the source, merged."""
    return _points(_kept(session, row))


def _scores(kept: list[CandidateEvidence]) -> dict[str, dict[str, float]]:
    return {e.broker: dict(e.scores) for e in kept if e.scores}


def rescore(session, row: CandidateRecord, merger: float | None) -> KilonovaScore:
    """Score the candidate's light curve and place on its event's map, and keep the result on the row."""
    kept = _kept(session, row)
    flat = {name: value for scores in _scores(kept).values() for name, value in scores.items()}
    score = kilonova_score(facts(_points(kept), merger), row.credible_level, row.distance_cl, flat)
    row.kn_score, row.kn_reasons = score.points, score.to_json()
    return score


def keep_alerts(session, alerts: list[Candidate]) -> None:
    """Merge each alert's light curve, scores and stamps into its broker object's evidence (each alert once)."""
    seen: set[tuple[str, str, str]] = set()
    objects: dict[tuple[str, str], CandidateEvidence] = {}
    for c in alerts:
        if (c.broker, c.object_id, c.alert_id) in seen:
            continue
        seen.add((c.broker, c.object_id, c.alert_id))
        kept = objects.get((c.broker, c.object_id)) or session.get(CandidateEvidence, (c.broker, c.object_id))
        if kept is None:
            kept = CandidateEvidence(broker=c.broker, object_id=c.object_id, photometry=[])
            session.add(kept)
        objects[(c.broker, c.object_id)] = kept
        own = c.photometry or ((Point(c.mjd, c.band, c.mag, None, False, c.broker),)
                               if c.mag is not None and c.band else ())
        if own:
            merged = merge((Point.from_json(p) for p in kept.photometry or ()), own)
            kept.photometry = [p.to_json() for p in merged]
        if c.scores:
            kept.scores = dict(c.scores)
        if c.cutouts is not None and (kept.stamps_mjd is None or c.mjd >= kept.stamps_mjd):
            kept.stamps_mjd = c.mjd
            kept.science, kept.template, kept.difference = (c.cutouts.science, c.cutouts.template,
                                                             c.cutouts.difference)
    session.flush()


def evidence_of(session, row: CandidateRecord, merger: float | None, cutouts: bool = True) -> Evidence:
    kept = _kept(session, row)
    points = _points(kept)
    stamped = max((e for e in kept if e.stamps_mjd is not None), key=lambda e: e.stamps_mjd or 0.0, default=None) \
        if cutouts else None
    return Evidence(row.id, row.event_id, row.object_id, row.broker, points, facts(points, merger),
                    KilonovaScore.from_json(row.kn_reasons), _scores(kept),
                    Cutouts(stamped.science, stamped.template, stamped.difference) if stamped else None,
                    merger, row.host_distance_mpc, row.distance_cl)


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
