"""Vetting candidates: the light curves read from real alerts (Rubin's fluxes in nJy, ZTF's magnitudes and limits,
BOOM's photometry), the cutouts, the evidence picture, and the kilonova score's order (fast tier: no Kafka; the
vetting buttons are exercised against the Slack stand-in in test_commands.py)."""

from __future__ import annotations

import io
import json
import math

import fastavro
import numpy as np
import pytest
from conftest import data_file
from sqlalchemy import select
from test_candidates import MERGER_MJD, bot, positions, worker_for  # noqa: F401  (bot is a fixture)

from bot.brokers import fink
from bot.brokers.decoders import Message
from bot.brokers.record import Format, Point
from bot.commands.records import CandidateLine
from bot.store.candidates import CandidateEvidence, CandidateRecord
from bot.vetting import Status, facts, kilonova_score
from bot.vetting.cutouts import image
from bot.vetting.lightcurve import fit_line
from bot.vetting.picture import evidence_png

PNG = b"\x89PNG\r\n\x1a\n"


def _container(name: str) -> tuple[str, dict]:
    """(writer schema as JSON text, the one alert) of an Avro container in tests/data/brokers."""
    with (data_file("brokers") / name).open("rb") as f:
        reader = fastavro.reader(f)
        return reader.metadata["avro.schema"], next(reader)


def _fink_message(name: str) -> tuple[bytes, bytes, dict]:
    """A real alert as Fink's Kafka carries it: key = the writer schema, value = schemaless Avro."""
    schema_text, alert = _container(name)
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, fastavro.parse_schema(json.loads(schema_text)), alert)
    return schema_text.encode(), buf.getvalue(), alert


def test_rubin_light_curve_is_the_alerts_fluxes_in_ab_magnitudes():
    """Every positive diaSource flux becomes m = -2.5 log10(psfFlux / nJy) + 31.4 with sigma = 1.0857 err/flux;
    forced measurements under 5 sigma become 5-sigma limits (computed here, not with the bot's converter)."""
    key, value, alert = _fink_message("fink-lsst-real-313893023095193658.avro")
    c = fink.decode_detail(value, key, "fink")
    points = {(p.band, round(p.mjd, 6), p.limit): p for p in c.photometry}
    sources = [alert["diaSource"], *alert["prvDiaSources"]]
    for s in sources:
        p = points[(s["band"], round(s["midpointMjdTai"], 6), False)]
        assert p.mag == pytest.approx(-2.5 * np.log10(s["psfFlux"]) + 31.4, abs=1e-9)
        assert p.err == pytest.approx(1.0857 * s["psfFluxErr"] / s["psfFlux"], rel=1e-9)
    seen = {(s["band"], round(s["midpointMjdTai"], 4)) for s in sources}
    faint = [f for f in alert["prvDiaForcedSources"] if f["psfFlux"] < 5 * f["psfFluxErr"]
             and (f["band"], round(f["midpointMjdTai"], 4)) not in seen]
    limits = [p for p in c.photometry if p.limit]
    assert len(faint) == len(limits) > 0
    for f in faint:
        p = points[(f["band"], round(f["midpointMjdTai"], 6), True)]
        assert p.mag == pytest.approx(-2.5 * math.log10(5 * f["psfFluxErr"]) + 31.4, abs=1e-9)
    assert {p.band for p in c.photometry} == {"g", "r", "i", "z"} and all(p.origin == "fink" for p in c.photometry)
    # the cutouts are plain FITS (astropy CCDData), each an image centred on the source
    assert c.cutouts is not None
    from astropy.io import fits

    for stamp, sent in zip((c.cutouts.science, c.cutouts.template, c.cutouts.difference),
                           (alert["cutoutScience"], alert["cutoutTemplate"], alert["cutoutDifference"]), strict=True):
        assert stamp[:6] == b"SIMPLE" and len(stamp) < len(sent) / 3  # the image HDU only is kept
        with fits.open(io.BytesIO(sent)) as whole:
            assert [h.name for h in whole] == ["PRIMARY", "UNCERT", "PSFIMAGE"]
            assert np.array_equal(image(stamp), whole[0].data)
        assert image(stamp).shape == (30, 30)
    assert evidence_png("t", c.photometry, c.cutouts, MERGER_MJD)[:8] == PNG


def test_ztf_light_curve_detections_limits_and_gzipped_cutouts():
    key, value, alert = _fink_message("fink-ztf-real-with-cutouts.avro")
    c = fink.decode_detail(value, key, "fink")
    rows = [alert["candidate"], *alert["prv_candidates"]]
    detections = [r for r in rows if r["magpsf"] is not None and r["isdiffpos"] in ("t", "1")]
    limits = [r for r in rows if r["magpsf"] is None]
    assert len(detections) == 12 and len(limits) == 43
    assert sorted(p.mag for p in c.photometry if not p.limit) == pytest.approx(sorted(r["magpsf"] for r in detections))
    assert sorted(p.mag for p in c.photometry if p.limit) == pytest.approx(sorted(r["diffmaglim"] for r in limits))
    assert sorted(p.mjd for p in c.photometry) == pytest.approx(sorted(r["jd"] - 2400000.5 for r in rows))
    assert dict(c.scores)["Fink kilonova"] == alert["rf_kn_vs_nonkn"]
    assert all(image(s).shape == (63, 63) for s in (c.cutouts.science, c.cutouts.template, c.cutouts.difference))


def _curve(band_rates: dict[str, tuple[float, float]], days: list[float], t0: float) -> list[Point]:
    """Detections at ``days`` after ``t0``: per band (start magnitude, mag/day)."""
    return [Point(t0 + d, band, m0 + rate * d, 0.05) for band, (m0, rate) in band_rates.items() for d in days]


def test_a_fast_fading_red_source_outranks_a_slow_riser_of_higher_sky_density():
    merger = 60000.0
    kilonova = _curve({"g": (19.0, 1.1), "r": (18.8, 0.7)}, [0.5, 1.0, 1.5, 2.0], merger)  # reddens: g fades faster
    riser = _curve({"g": (20.0, -0.15), "r": (20.1, -0.15)}, [0.5, 2.0, 4.0, 6.0], merger)  # SN-like
    kn = kilonova_score(facts(kilonova, merger), 0.6)
    sn = kilonova_score(facts(riser, merger), 0.6)
    assert kn.points > sn.points
    said = " ".join(r.words for r in kn.reasons)
    assert "fades 1.10 ± " in said and "faster than 0.3 mag/day" in said and "red" in said and "reddening" in said
    assert "slow, supernova-like" in " ".join(r.words for r in sn.reasons)

    def line(name: str, density: float, score: float) -> CandidateLine:
        return CandidateLine("S1", "fink", name, None, 0, 0, 0.6, density, None, None, None, 0.5, merger + 2, 19, "r",
                             0.9, True, 4, kn_score=score)

    ranked = sorted([line("riser", 50.0, sn.points), line("kilonova", 5.0, kn.points)], key=CandidateLine.rank_key)
    assert [x.object_id for x in ranked] == ["kilonova", "riser"]  # ten times denser, still second


def test_rates_are_weighted_fits_with_their_uncertainty():
    """The fit against numpy's weighted polyfit on the same points (unscaled covariance: the errors as given)."""
    rng = np.random.default_rng(3)
    t = np.sort(rng.uniform(0, 3, 12))
    err = rng.uniform(0.03, 0.2, 12)
    m = 19 + 0.45 * t + rng.normal(0, err)
    slope, sigma = fit_line(list(t), list(m), list(err))
    coef, cov = np.polyfit(t, m, 1, w=1 / err, cov="unscaled")
    assert slope == pytest.approx(coef[0], rel=1e-9) and sigma == pytest.approx(math.sqrt(cov[0, 0]), rel=1e-9)
    # a clean fade is one "fade" rate from its brightest (first) point, the slope as made
    fading = [Point(60000 + ti, "r", 19 + 0.45 * ti, 0.05) for ti in t]
    [rate] = facts(fading).rates
    assert (rate.phase, rate.n) == ("fade", 12) and rate.slope == pytest.approx(0.45, abs=1e-9)


def test_boom_notice_for_a_known_event_becomes_a_candidate_with_its_scores(bot):  # noqa: F811
    """GCN's BOOM example, its target moved into S241102br's region and named for that event (the rest as
    published): one candidate with BOOM's scores and photometry; a target naming another event is not matched
    against S241102br even though it sits in its region."""
    (ra, dec), = positions([0.3])
    notice = json.loads(data_file("boom-alert.example.json").read_text())
    target = notice["data"]["targets"][0]
    target.update(ra=ra, dec=dec, gcn_crossmatch=[{"ref_type": "GW", "ref_instrument": "LVK", "ref_ID": "S241102br"}])
    other = {**target, "event_name": "ZTF25other", "ra": ra + 0.01,
             "gcn_crossmatch": [{"ref_type": "GW", "ref_instrument": "LVK", "ref_ID": "S251117bs"}]}
    notice["data"]["targets"].append(other)
    # the example's dates, moved to S241102br's merger (the same intervals between them)
    from datetime import UTC, datetime

    from bot.brokers.record import mjd_to_unix

    shift = MERGER_MJD + 0.2 - 61006.58609  # the example's first point (2025-11-27T14:03Z) 0.2 d after the merger
    for p in notice["data"]["photometry"]:
        t = datetime.fromisoformat(p["observation_start"].replace("Z", "+00:00")).timestamp() / 86400 + 40587.0
        p["observation_start"] = datetime.fromtimestamp(mjd_to_unix(t + shift), UTC).isoformat()
    w = worker_for(bot, Format.BOOM, day=4.0)
    batch = w.process([Message("gcn.notices.boom.alert", json.dumps(notice).encode())])
    assert batch.hits == 1 and batch.undecodable == 0
    with bot.store.session() as s:
        [row] = s.scalars(select(CandidateRecord))
        assert (row.object_id, row.event_id, row.broker) == ("ZTF25acffkdr", "S241102br", "boom")
        kept = s.get(CandidateEvidence, ("boom", "ZTF25acffkdr"))
        assert kept.scores == {"Type II": 0.9}
        stored = [Point.from_json(p) for p in kept.photometry]
        assert s.get(CandidateEvidence, ("boom", "ZTF25other")) is None  # named another event: not matched here
    assert len([p for p in stored if p.limit]) == 1 and len([p for p in stored if not p.limit]) == 6
    assert {p.band for p in stored} == {"o", "g", "r", "z"}
    assert row.kn_score is not None


def _rubin_curve(object_id: int, ra: float, dec: float, curve: dict[str, tuple[float, float]], days: list[float]):
    """A Rubin alert whose diaSource and prvDiaSources trace ``curve`` (band -> (mag at the merger, mag/day)),
    observed at ``days`` after the merger; the last point is the alert's own diaSource."""
    from fakes import broker_messages as bm

    points = sorted((MERGER_MJD + d, band, m0 + rate * d) for band, (m0, rate) in curve.items() for d in days)
    alert = bm.rubin_alert(object_id, ra, dec, points[-1][0])

    def source(i: int, mjd: float, band: str, mag: float) -> dict:
        flux = 10 ** (-0.4 * (mag - 31.4))
        return dict(alert["diaSource"], diaSourceId=object_id * 100 + i, midpointMjdTai=mjd, band=band, psfFlux=flux,
                    psfFluxErr=flux / 30)

    *earlier, last = [source(i, *p) for i, p in enumerate(points)]
    alert["diaSource"], alert["prvDiaSources"], alert["prvDiaForcedSources"] = last, earlier, []
    alert["diaSourceId"] = last["diaSourceId"]
    if alert.get("diaObject"):
        alert["diaObject"] = dict(alert["diaObject"], firstDiaSourceMjdTai=points[0][0])
    return bm.rubin_value(alert)


def test_the_digest_puts_a_fast_red_fader_before_a_denser_slow_riser(bot):  # noqa: F811
    """Through the worker (evidence on): real Rubin wire bytes, the light curves read from the alerts, the digest
    ordered by kilonova score, not by sky density."""
    (ra_dense, dec_dense), (ra_sparse, dec_sparse) = positions([0.1, 0.8])
    fader = _rubin_curve(7001, ra_sparse, dec_sparse, {"g": (19.0, 1.1), "r": (18.8, 0.7)}, [0.4, 0.9, 1.4, 1.9])
    riser = _rubin_curve(7002, ra_dense, dec_dense, {"g": (20.0, -0.15), "r": (20.1, -0.15)}, [0.3, 2.0, 4.0, 5.9])
    w = worker_for(bot, Format.RUBIN, day=6.0)
    batch = w.process([Message("rubin", fader, None, 0, 1), Message("rubin", riser, None, 0, 2)])
    assert batch.hits == 2, batch.rejected
    w.housekeeping()
    assert bot.outbox.drain(60)
    [digest] = [m for m in bot.target.messages if "counterpart candidate" in m.text and m.thread_ts is None]
    ranked = [b["text"]["text"] for b in digest.blocks if b.get("accessory")]
    assert "7001" in ranked[0] and "7002" in ranked[1], ranked
    with bot.store.session() as s:
        rows = {r.object_id: r for r in s.scalars(select(CandidateRecord))}
        assert rows["7002"].density_per_deg2 > rows["7001"].density_per_deg2  # the riser is the denser
        assert rows["7001"].kn_score > rows["7002"].kn_score
    details = " ".join(str(m.blocks) for m in bot.target.messages if m.thread_ts == digest.ts)
    assert "fades 1.10 ± " in details and "slow, supernova-like" in details
    assert {name for _, name, _ in bot.target.uploads} >= {"7001-evidence.png", "7002-evidence.png"}


def test_later_detections_show_the_teams_verdict():
    """A vetted candidate seen again: its note in the digest's thread says the team's verdict, who and when."""
    from bot.slack import blocks as bk

    line = CandidateLine("S1", "fink", "ZTF24abc", None, 0, 0, 0.6, 1.0, None, None, None, 0.5, 60001.0, 19.0, "r",
                         0.9, True, 2, status=Status.REJECTED, status_by="U0BOB", status_reason="asteroid",
                         status_at=1.7e9)
    text, blocks = bk.candidate_detections([(line, [(60001.0, "r", 19.2)])])
    said = blocks[0]["text"]["text"]
    assert "team: *Not it* (asteroid), <@U0BOB> 2023-11-14 22:13 UTC" in said
    fresh = CandidateLine("S1", "fink", "ZTF24new", None, 0, 0, 0.6, 1.0, None, None, None, 0.5, 60001.0, 19.0, "r",
                          0.9, True, 2)
    assert "team:" not in bk.candidate_detections([(fresh, [(60001.0, "r", 19.2)])])[1][0]["text"]["text"]
