"""Broker candidates: each format decoded from its real wire bytes, matched against a real event's map, judged by
the ANTARES GW filter's cuts, stored once, and posted as one digest (fast tier: no Kafka; the same worker runs
through tansu in test_candidates_stream.py)."""

from __future__ import annotations

import io
import zlib
from dataclasses import replace

import astropy_healpix as ah
import numpy as np
import pytest
from astropy import units as u
from conftest import OLD_ALERTS_TOO, data_file
from fakes import broker_messages as bm
from fakes.target import MemoryTarget
from sqlalchemy import func, select

from bot import config
from bot.app import Bot
from bot.brokers import antares, bson, decoders, fink, lasair, rubin
from bot.brokers.decoders import Message
from bot.brokers.record import DecodeError, Format, unix_to_mjd
from bot.candidates.worker import CandidateWorker
from bot.events.pipeline import RawMessage
from bot.ingest.gwalert import epoch, parse_bytes
from bot.skymap import moc
from bot.store.candidates import CandidateDetection, CandidateRecord
from bot.store.events import Event, SkymapVersion

EVENT = "S241102br"
MERGER_MJD = unix_to_mjd(epoch("2024-11-02T12:40:58.788Z") or 0.0)


def test_bson_decoder_reads_what_pymongo_writes():
    import bson as pymongo_bson

    doc = {"id": "ANT2020j7wo4", "ra": 10.5, "dec": -3.25, "n": 7, "big": 2**40, "none": None, "yes": True,
           "properties": {"nested": {"x": [1, 2.5, "three"]}}, "blob": b"\x00\x01", "tags": []}
    assert bson.loads(pymongo_bson.encode(doc)) == doc
    with pytest.raises(DecodeError):
        bson.loads(pymongo_bson.encode(doc)[:-3])


def test_antares_locus_both_shapes():
    locus = bm.antares_locus("ANT2024abcdefg", 150.1, 2.2, 60620.5, 60620.4, rb=0.8)
    for old in (False, True):
        c = antares.decode(bm.antares_value(locus, old_shape=old), "antares")
        assert (c.object_id, c.ra_deg, c.dec_deg, c.mjd, c.first_mjd) == ("ANT2024abcdefg", 150.1, 2.2, 60620.5,
                                                                            pytest.approx(60620.4))
        assert c.reliability == 0.8 and c.url == "https://antares.noirlab.edu/loci/ANT2024abcdefg"
    asteroid = antares.decode(bm.antares_value(bm.antares_locus("ANT1", 1, 2, 60620.5, 60620.5, ssdistnr=1.2)), "a")
    assert asteroid.solar_system
    with pytest.raises(DecodeError, match="zlib"):
        antares.decode(b"{not zlib}", "antares")
    with pytest.raises(DecodeError, match="BSON"):
        antares.decode(zlib.compress(b"\x05\x00\x00\x00\x01"), "antares")


def test_fink_ztf_real_alerts_peek_and_detail():
    alerts = bm.fink_ztf_alerts()
    for alert in alerts:
        key, value = bm.fink_ztf_message(alert)
        peeked = fink.decode_peek(value, key, "fink")
        full = fink.decode_detail(value, key, "fink")
        c = alert["candidate"]
        assert (peeked.object_id, peeked.ra_deg, peeked.dec_deg) == (alert["objectId"], c["ra"], c["dec"])
        assert peeked.mjd == pytest.approx(c["jd"] - 2400000.5)
        assert peeked.mag == pytest.approx(c["magpsf"]) and peeked.band in ("g", "r", "i")
        assert full.detailed and not peeked.detailed
        assert full.first_mjd == pytest.approx(c["jdstarthist"] - 2400000.5)
    with pytest.raises(DecodeError, match="schema in the key"):
        fink.decode_peek(value, None, "fink")
    with pytest.raises(DecodeError):
        fink.decode_peek(value[:40], key, "fink")


def test_fink_rubin_alert_with_host_distance_and_solar_system():
    alert = bm.fink_lsst_alert(1234, 20.0, -5.0, 60700.2, first_mjd=60699.0, host_distance_mpc=210.0)
    key, value = bm.fink_lsst_message(alert)
    peeked = fink.decode_peek(value, key, "fink")
    assert (peeked.object_id, peeked.ra_deg, peeked.dec_deg) == ("1234", 20.0, -5.0)
    assert peeked.reliability == pytest.approx(0.9)  # a float in the schema
    full = fink.decode_detail(value, key, "fink")
    assert full.first_mjd == pytest.approx(60699.0) and full.host_distance_mpc == 210.0
    sso = bm.fink_lsst_alert(99, 20.0, -5.0, 60700.2, ss_object_id=777)
    c = fink.decode_peek(bm.fink_lsst_message(sso)[1], key, "fink")
    assert c.solar_system and c.object_id == "ss777"


@pytest.mark.parametrize("version", [(3, 0), (7, 3), (9, 0), (11, 1)])
def test_rubin_every_schema_generation(version):
    alert = bm.rubin_alert(42, 33.0, -12.0, 60700.25, version=version, cutout_bytes=20000, history=3)
    value = bm.rubin_value(alert, version)
    c = rubin.decode_peek(value, "rubin")
    assert (c.object_id, c.ra_deg, c.dec_deg, c.mjd) == ("42", 33.0, -12.0, 60700.25)
    full = rubin.decode_detail(value, c)
    assert full.first_mjd == pytest.approx(60700.25 - 1.5)


def test_rubin_unknown_version_and_not_confluent():
    value = bm.rubin_value(bm.rubin_alert(1, 1.0, 1.0, 60700.0))
    with pytest.raises(DecodeError, match="unknown Rubin schema id 9999"):
        rubin.decode_peek(value[:1] + (9999).to_bytes(4, "big") + value[5:], "rubin")
    with pytest.raises(DecodeError, match="Confluent"):
        rubin.decode_peek(b"\x01" + value[1:], "rubin")
    sso = rubin.decode_peek(bm.rubin_value(bm.rubin_alert(0, 1.0, 1.0, 60700.0, ss_object_id=5)), "rubin")
    assert sso.solar_system


def test_lasair_decl_and_flux():
    c = lasair.decode(bm.lasair_value(555, 100.0, -30.0, 60701.0, 60700.0, flux=3631e9 / 1e5), "lasair")
    assert (c.ra_deg, c.dec_deg, c.first_mjd, c.band) == (100.0, -30.0, 60700.0, "g")
    assert c.mag == pytest.approx(12.5, abs=1e-6)  # 3631 Jy / 10^5 = AB 12.5
    with pytest.raises(DecodeError):
        lasair.decode(b'{"ra": 1}', "lasair")
    ztf = lasair.decode(bm.lasair_ztf_value("ZTF25aaabbbc", 100.0, -30.0, 2460701.6, 2460701.7, 2460700.9,
                                            gmag=19.1, rmag=18.7), "lasair")
    assert (ztf.object_id, ztf.ra_deg, ztf.dec_deg, ztf.band, ztf.mag) == ("ZTF25aaabbbc", 100.0, -30.0, "r", 18.7)
    assert ztf.mjd == pytest.approx(60701.2) and ztf.first_mjd == pytest.approx(60700.4) and not ztf.solar_system
    assert ztf.url == "https://lasair-ztf.lsst.ac.uk/objects/ZTF25aaabbbc/"
    rock = lasair.decode(bm.lasair_ztf_value("ZTF25aaabbbd", 1.0, 2.0, 2460701.6, None, 2460701.6, gmag=20.0,
                                             ssnamenr="12345"), "lasair")
    assert rock.solar_system and rock.band == "g" and rock.mag == 20.0


# --- matching, judging, storing, posting ------------------------------------------------------------------

def event_map():
    from astropy.table import Table

    return Table.read(io.BytesIO(parse_bytes(data_file("S241102br-initial.json").read_bytes()).skymap), format="fits")


def positions(levels: list[float]) -> list[tuple[float, float]]:
    """Centres of the sky map's pixels at these cumulative probabilities (each pixel is far smaller than the
    gaps between levels), from the map file itself."""
    t = event_map()
    order, ipix = moc.uniq_to_order_ipix(np.asarray(t["UNIQ"]))
    area = ah.nside_to_pixel_area(ah.level_to_nside(order)).to_value(u.sr)
    rank = np.argsort(-np.asarray(t["PROBDENSITY"]), kind="stable")
    cum = np.cumsum(np.asarray(t["PROBDENSITY"])[rank] * area[rank])
    out = []
    for level in levels:
        i = rank[np.searchsorted(cum, level)]
        lon, lat = ah.healpix_to_lonlat(ipix[i], ah.level_to_nside(order[i]), order="nested")
        out.append((float(lon.to_value(u.deg)), float(lat.to_value(u.deg))))
    return out


def reference_cl(ra: float, dec: float) -> float:
    """ligo.skymap's own searched probability at a position (the reference, not gwbot's code)."""
    from astropy.coordinates import SkyCoord
    from ligo.skymap.postprocess.crossmatch import crossmatch

    return float(crossmatch(event_map()["UNIQ", "PROBDENSITY"], SkyCoord(ra * u.deg, dec * u.deg)).searched_prob)


@pytest.fixture
def bot(tmp_path):
    settings = config.load({"GWBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.sqlite'}", "HOP_AUTH": "false",
                            "GWBOT_POST_MAX_AGE": OLD_ALERTS_TOO, "GWBOT_OPS_CHANNEL": "gw-ops",
                            "GWBOT_OUTPUT_DIR": str(tmp_path / "out")})
    target = MemoryTarget()
    b = Bot(settings, target=target)
    b.pipeline.handle(RawMessage("igwn.gwalert", data_file("S241102br-initial.json").read_bytes()))
    assert b.outbox.drain(60)
    b.target = target
    yield b
    b.store.close()


def worker_for(bot, fmt: Format, day: float = 1.0) -> CandidateWorker:
    broker = config.BrokerConfig(fmt.value, fmt, f"kafka://127.0.0.1:1/{fmt.value}")
    now = (MERGER_MJD + day - 40587.0) * 86400.0
    return CandidateWorker(bot.settings, broker, bot.store, lambda what, detail, key: bot.outbox.alarm(
        "gw-ops", what, detail, key), bot.maps, clock=lambda: now)


def digest_posts(bot) -> list:
    return [m for m in bot.target.messages if "counterpart candidate" in m.text and m.thread_ts is None]


def test_fink_ztf_candidates_inside_posted_decoys_not(bot):
    (ra50, dec50), (ra90, dec90), (ra_out, dec_out) = positions([0.3, 0.8, 0.995])
    assert reference_cl(ra50, dec50) < 0.5 and 0.5 < reference_cl(ra90, dec90) < 0.9
    assert reference_cl(ra_out, dec_out) > 0.9
    real = bm.fink_ztf_alerts()
    t = MERGER_MJD + 0.5
    clean = {"distpsnr1": 12.0, "sgscore1": 0.1}  # no star under it: the ANTARES filter's variable-star cut
    alerts = {
        "ZTF24in50": bm.moved_ztf(real[1], "ZTF24in50", ra50, dec50, t, rb=0.9, drb=0.95, **clean),
        "ZTF24in90": bm.moved_ztf(real[2], "ZTF24in90", ra90, dec90, t + 0.1, rb=0.9, drb=0.9, **clean),
        "ZTF24star": bm.moved_ztf(real[0], "ZTF24star", ra50 + 0.05, dec50, t, drb=0.99, distpsnr1=0.4,
                                  sgscore1=0.97),
        "ZTF24outside": bm.moved_ztf(real[3], "ZTF24outside", ra_out, dec_out, t, drb=0.99),
        "ZTF24before": bm.moved_ztf(real[4], "ZTF24before", ra50, dec50 + 0.1, MERGER_MJD - 0.2, drb=0.99),
        "ZTF24history": bm.moved_ztf(real[4], "ZTF24history", ra50 + 0.1, dec50, t, first_mjd=MERGER_MJD - 3, drb=0.99),
        "ZTF24bogus": bm.moved_ztf(real[5], "ZTF24bogus", ra50, dec50 - 0.1, t, drb=0.2),
        "ZTF24rock": bm.moved_ztf(real[6], "ZTF24rock", ra50 - 0.1, dec50, t, ssdistnr=0.8, drb=0.99),
    }
    messages = [Message("fink_ztf", *reversed(bm.fink_ztf_message(a)), partition=0, offset=i)  # (value, key)
                for i, a in enumerate(alerts.values())]
    w = worker_for(bot, Format.FINK)
    batch = w.process(messages)
    assert (batch.messages, batch.undecodable, batch.hits) == (8, 0, 2), batch.rejected
    # outside, before, bogus and rock never reach the detail stage
    assert batch.rejected == {"detected 3.0 d before the merger": 1, "a catalogued star, variable or AGN": 1}
    w.housekeeping()
    assert bot.outbox.drain(60)
    [digest] = digest_posts(bot)
    assert "ZTF24in50" in digest.text and "ZTF24in90" in digest.text
    for decoy in ("outside", "before", "history", "bogus", "rock", "star"):
        assert f"ZTF24{decoy}" not in str(digest.blocks)
    first, second = [b for b in digest.blocks if b.get("accessory")]
    assert "ZTF24in50" in first["text"]["text"]  # best (densest) first
    assert first["accessory"]["action_id"] == "check_broker_candidate"
    details = [m for m in bot.target.messages if m.thread_ts == digest.ts]
    assert len(details) == 2 and all("CL" in str(m.blocks) or "Credible" in str(m.blocks) for m in details)
    # the same batch again (a crash before the commit): nothing new, nothing posted twice
    w.process(messages)
    w.housekeeping()
    assert bot.outbox.drain(60)
    assert len(digest_posts(bot)) == 1
    with bot.store.session() as s:
        assert s.scalar(select(func.count()).select_from(CandidateDetection)) == 2
    # a later detection of a posted candidate: in the digest's thread, at the next digest time, once
    again = bm.moved_ztf(real[1], "ZTF24in50", ra50, dec50, t + 0.3, drb=0.95, magpsf=18.25, **clean)
    w.process([Message("fink_ztf", *reversed(bm.fink_ztf_message(again)), offset=99)])
    w.housekeeping()  # too soon after the digest: nothing yet
    assert bot.outbox.drain(60) and not [m for m in bot.target.messages if "new detection" in m.text]
    start = w.clock()
    w.clock = lambda: start + bot.settings.candidates.digest_s
    w.housekeeping()
    w.housekeeping()
    assert bot.outbox.drain(60)
    [update] = [m for m in bot.target.messages if "new detection" in m.text]
    assert update.thread_ts == digest.ts and "18.25" in str(update.blocks) and "ZTF24in50" in str(update.blocks)
    assert len(digest_posts(bot)) == 1


def test_each_format_one_row_per_source_and_poison(bot):
    (ra, dec), = positions([0.2])
    t = MERGER_MJD + 1.0
    w = {fmt: worker_for(bot, fmt) for fmt in Format}
    key, value = bm.fink_lsst_message(bm.fink_lsst_alert(77, ra, dec, t, host_distance_mpc=150.0))
    batches = {
        Format.FINK: [Message("fink", value, key)],
        Format.RUBIN: [Message("rubin", bm.rubin_value(bm.rubin_alert(77, ra + 0.3 / 3600, dec, t + 0.01))),
                       Message("rubin", b"\x00\x00\x00\x04M garbage", offset=1)],
        Format.ANTARES: [Message("antares", bm.antares_value(bm.antares_locus("ANT2024xyz", ra, dec, t + 0.02,
                                                                              t)))],
        Format.LASAIR: [Message("lasair", bm.lasair_value(77, ra, dec - 0.2 / 3600, t + 0.03, t))],
    }
    for fmt, messages in batches.items():
        w[fmt].process(messages)
    with bot.store.session() as s:
        rows = list(s.scalars(select(CandidateRecord)))
        assert len(rows) == 1, [(r.broker, r.object_id) for r in rows]
        assert sorted(rows[0].aliases) == ["antares:ANT2024xyz", "lasair:77", "rubin:77"]
        assert rows[0].host_distance_mpc == 150.0 and rows[0].distance_cl is not None
        assert s.scalar(select(func.count()).select_from(CandidateDetection)) == 4
    assert w[Format.RUBIN].undecodable == {"rubin": 1}
    bot.outbox.drain(60)
    ops = [m for m in bot.target.messages if "Undecodable" in m.text]
    assert len(ops) == 1 and "rubin" in ops[0].text


def test_newer_map_moves_a_candidate_out_and_retraction_ends_the_stream(bot):
    (ra, dec), = positions([0.4])
    t = MERGER_MJD + 0.3
    w = worker_for(bot, Format.LASAIR)
    w.process([Message("lasair", bm.lasair_value(9, ra, dec, t, t))])
    w.housekeeping()
    assert bot.outbox.drain(60)
    [digest] = digest_posts(bot)
    # a newer map of the event elsewhere on the sky: the MS181101ab map under S241102br's name
    other = parse_bytes(data_file("MS181101ab-preliminary.avro").read_bytes()).skymap
    with bot.store.session() as s:
        s.add(SkymapVersion(event_id=EVENT, alert_key="newer", alert_type="UPDATE", fits=other, kind="gw",
                            created=2e9))
    w.active._read_at = -1e9
    w.targets()
    assert bot.outbox.drain(60)
    moved = [m for m in bot.target.messages if "outside the 90% region" in m.text]
    assert len(moved) == 1 and moved[0].thread_ts == digest.ts
    w.targets()  # judged once per map version
    with bot.store.session() as s:
        s.get_one(Event, EVENT).retracted = True
    w.housekeeping()
    w.housekeeping()
    assert bot.outbox.drain(60)
    assert len([m for m in bot.target.messages if "Candidate stream for S241102br ended" in m.text]) == 1
    w.active._read_at = -1e9
    assert w.targets() == []


def test_candidates_after_the_window_are_ignored(bot):
    (ra, dec), = positions([0.2])
    w = worker_for(bot, Format.LASAIR, day=8.0)
    assert w.targets() == []
    w2 = worker_for(bot, Format.LASAIR)
    batch = w2.process([Message("lasair", bm.lasair_value(9, ra, dec, MERGER_MJD + 7.5, MERGER_MJD + 7.5))])
    assert batch.hits == 0


def test_decoders_dispatch_peek_only_reads_the_head():
    value = bm.rubin_value(bm.rubin_alert(5, 10.0, 10.0, 60700.0, cutout_bytes=30000, history=2))
    peeked = decoders.peek(Format.RUBIN, "rubin", Message("t", value))
    assert not peeked.detailed and peeked.first_mjd is None
    assert decoders.detail(Format.RUBIN, "rubin", Message("t", value), peeked).first_mjd == pytest.approx(60699.0)
    assert replace(peeked, detailed=True) is not None
