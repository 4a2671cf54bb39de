"""Broker candidates in events' regions, their detections, and each event's digest state."""

from __future__ import annotations

import time

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.base import Base

__all__ = ['CandidateEvidence', 'CandidateDetection', 'CandidateRecord', 'CandidateStream', 'CandidateVote']


class CandidateRecord(Base):
    """A broker candidate inside an event's region: one row per event and object, however many alerts or brokers
    report it (a second broker's object within 1.5 arcsec joins the first one's row, in ``aliases``)."""

    __tablename__ = "candidates"
    __table_args__ = (UniqueConstraint("event_id", "broker", "object_id"),
                      Index("ix_candidates_event_dec", "event_id", "dec"))  # same-source look-ups by position
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), index=True)
    broker: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(80))
    aliases: Mapped[list] = mapped_column(JSON, default=list)  # "broker:object id" of the same source elsewhere
    ra: Mapped[float] = mapped_column(Float)
    dec: Mapped[float] = mapped_column(Float)
    url: Mapped[str | None] = mapped_column(String(300))
    first_mjd: Mapped[float] = mapped_column(Float)  # first detection after the merger that we saw
    last_mjd: Mapped[float] = mapped_column(Float)
    band: Mapped[str | None] = mapped_column(String(8))
    mag: Mapped[float | None] = mapped_column(Float)
    reliability: Mapped[float | None] = mapped_column(Float)
    host_distance_mpc: Mapped[float | None] = mapped_column(Float)
    host_redshift: Mapped[float | None] = mapped_column(Float)
    map_version: Mapped[int] = mapped_column(Integer)  # the map the numbers below come from
    credible_level: Mapped[float] = mapped_column(Float)
    density_per_deg2: Mapped[float] = mapped_column(Float)
    distance_cl: Mapped[float | None] = mapped_column(Float)  # two-sided, at the host distance
    density_3d: Mapped[float | None] = mapped_column(Float)  # per Mpc^3, when a host distance exists
    inside: Mapped[bool] = mapped_column(Boolean, default=True)  # inside GWBOT_CANDIDATE_MAX_CL of that map
    digest: Mapped[int | None] = mapped_column(Integer)  # the delivery id of the digest that listed it
    created: Mapped[float] = mapped_column(Float, default=time.time)
    marked_by: Mapped[str | None] = mapped_column(String(32))  # who marked it for the team's HERMES report
    # evidence (0005): the kilonova score on this event's map and its reasons (the light curve is the object's:
    # CandidateEvidence)
    kn_score: Mapped[float | None] = mapped_column(Float)
    kn_reasons: Mapped[list | None] = mapped_column(JSON)
    detail: Mapped[int | None] = mapped_column(Integer)  # the delivery of its message in the digest's thread
    # the team's verdict, the latest vote (the history is in candidate_votes)
    status: Mapped[str] = mapped_column(String(16), default="new", server_default="new")
    status_reason: Mapped[str | None] = mapped_column(String(300))
    status_by: Mapped[str | None] = mapped_column(String(32))
    status_at: Mapped[float | None] = mapped_column(Float)


class CandidateDetection(Base):
    """Each alert of a candidate (the key makes re-reading a batch after a crash harmless)."""

    __tablename__ = "candidate_detections"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)  # event:broker:alert id
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id"), index=True)
    mjd: Mapped[float] = mapped_column(Float)
    band: Mapped[str | None] = mapped_column(String(8))
    mag: Mapped[float | None] = mapped_column(Float)
    posted: Mapped[bool] = mapped_column(Boolean, default=False)


class CandidateStream(Base):
    """Per event: when its last digest went out, which map its candidates were last judged on, and whether the
    stream ended (retraction). Rows are claimed with conditional UPDATEs, so two workers never both post."""

    __tablename__ = "candidate_streams"
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_digest: Mapped[float] = mapped_column(Float, default=0.0)
    map_version: Mapped[int | None] = mapped_column(Integer)
    ended: Mapped[bool] = mapped_column(Boolean, default=False)


class CandidateEvidence(Base):
    """What a broker's alerts carried about one of its objects, whichever events it is a candidate of: the light
    curve ([mjd, band, mag, err, limit, origin, instrument] rows, merged over its alerts), the broker's classifier
    scores as given, and the stamps of its latest alert that had them (FITS bytes). Written once per alert."""

    __tablename__ = "candidate_evidence"
    broker: Mapped[str] = mapped_column(String(40), primary_key=True)
    object_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    photometry: Mapped[list] = mapped_column(JSON, default=list)
    scores: Mapped[dict | None] = mapped_column(JSON)
    stamps_mjd: Mapped[float | None] = mapped_column(Float)
    science: Mapped[bytes | None] = mapped_column(LargeBinary)
    template: Mapped[bytes | None] = mapped_column(LargeBinary)
    difference: Mapped[bytes | None] = mapped_column(LargeBinary)


class CandidateVote(Base):
    """Every verdict anyone gave a candidate, in order: changing one's mind adds a row."""

    __tablename__ = "candidate_votes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id"), index=True)
    voter: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(300))
    at: Mapped[float] = mapped_column(Float, default=time.time)
