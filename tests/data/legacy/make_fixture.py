"""Make the upgrade tests' fixtures with the previous release's own code (gwbot 0.1.0, commit ec0894a).

Run from a checkout of that commit, with this file's folder as the output:

    git worktree add /tmp/gwbot-0.1.0 ec0894a
    PYTHONPATH=/tmp/gwbot-0.1.0 python tests/data/legacy/make_fixture.py sqlite:///tests/data/legacy/gwbot-0.1.0.sqlite
    PYTHONPATH=/tmp/gwbot-0.1.0 python tests/data/legacy/make_fixture.py postgresql+psycopg://…   # then pg_dump

It writes one row (or a few) into every table through 0.1.0's ORM and its ``Store`` (``create_all`` plus the
hand-written column adder), and drops the ``(event_id, dec)`` candidate index, as a database made before that
index existed (0.1.0 never added indexes to an existing table) still lacks it. ``rows.json`` beside it lists
what the tests expect to find after an upgrade.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sqlalchemy import func, select, text

import bot
from bot.events import store as st

assert bot.__version__ == "0.1.0", "run this with the 0.1.0 code on PYTHONPATH"


def fill(url: str) -> dict:
    store = st.Store(url)
    with store.session() as s:
        s.add(st.Event(event_id="S240422ed", channel_name="s240422ed", channel_id="C0EVENT", wants_channel=True,
                       summary_channel="C0ALERTS", thread_ts="1713800000.000100", last_alert_type="UPDATE",
                       last_alert_time="2024-04-22T21:35:13Z", facts={"area_90_deg2": 259.0, "hasns": 0.99},
                       summary={"text": "S240422ed UPDATE", "blocks": []}, first_seen=1713800000.0,
                       updated=1713900000.0))
        s.add(st.Event(event_id="MS181101ab", is_mock=True, retracted=True, facts={}))
        s.add(st.Handled(key="igwn.gwalert:S240422ed:2024-04-22T21:35:13Z", kind="alert", event_id="S240422ed",
                         topic="igwn.gwalert", partition=0, offset=41, stage="done", received=1713800000.0))
        s.add(st.SkymapVersion(event_id="S240422ed", alert_key="igwn.gwalert:S240422ed:2024-04-22T21:35:13Z",
                               alert_type="UPDATE", fits=b"SIMPLE  =                    T" + bytes(range(256)),
                               kind="gw", created=1713821713.0, received=1713800000.0))
        s.flush()
        first = st.Delivery(lane="event:S240422ed", kind="Post", payload={"text": "S240422ed"}, status="done",
                            event_id="S240422ed", result={"channel": "C0EVENT", "ts": "1713800000.000100"},
                            done_at=1713800001.0)
        s.add(first)
        s.flush()
        s.add(st.Delivery(lane="event:S240422ed", kind="Upload", payload={"filename": "S240422ed.png"},
                          file=b"\x89PNG pending picture", event_id="S240422ed", depends_on=first.id,
                          status="pending", attempts=2, not_before=1713800100.0, last_error="ratelimited"))
        s.add(st.OutboxSender(id="deadbeefdeadbeef", seen=1713800000.0))
        s.add(st.Post(event_id="S240422ed", channel_id="C0ALERTS", ts="1713800000.000100",
                      blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "S240422ed"}}], text="S240422ed"))
        plans = []
        for status, group in (("proposed", None), ("submitted", 1871234), ("rejected", None)):
            plan = st.PlanRecord(event_id="S240422ed", skymap_version=1, facility="lco", status=status,
                                 request={"facility": "lco", "fields": 20}, summary={"n_fields": 20},
                                 payload={"requests": []}, requested_by="U0ASKER", channel_id="C0EVENT",
                                 message_ts="1713800200.000100", expires=1713807200.0, group_id=group,
                                 decided_by="U0APPROVER" if status != "proposed" else None,
                                 request_states={"3601": "PENDING"} if group else {})
            s.add(plan)
            plans.append(plan)
        s.add(st.ChannelId(name="gw-alerts", channel_id="C0ALERTS"))
        s.add(st.TopicProgress(topic="igwn.gwalert", last_received=1713800000.0, last_offset=41, silent=3))
        s.flush()
        cand = st.CandidateRecord(event_id="S240422ed", broker="fink", object_id="ZTF24aaxyzab",
                                  aliases=["lasair:ZTF24aaxyzab"], ra=120.5, dec=-40.25, url="https://fink",
                                  first_mjd=60423.1, last_mjd=60424.2, band="r", mag=19.7, reliability=0.9,
                                  map_version=1, credible_level=0.42, density_per_deg2=0.003, inside=True,
                                  marked_by="U0MARKER")
        s.add(cand)
        s.flush()
        s.add(st.CandidateDetection(key="S240422ed:fink:123", candidate_id=cand.id, mjd=60423.1, band="r",
                                    mag=19.7, posted=True))
        s.add(st.CandidateStream(event_id="S240422ed", last_digest=1713800300.0, map_version=1))
        s.add(st.SharedPointing(plan_id=plans[1].id, event_id="S240422ed", rank=0, request_id="3601",
                                instrument_id=71, ra=120.0, dec=-40.0, band="r", depth=20.5,
                                planned_time=1713810000.0, status="planned", reported="planned", tm_id=99001))
        s.add(st.SeenPointing(event_id="S240422ed", tm_id=99002, instrument_id=47, status="completed", band="g",
                              ra=121.0, dec=-41.0, pos_angle=0.0, time=1713810000.0, depth=21.0, depth_unit="ab_mag"))
        s.add(st.CoverageRead(event_id="S240422ed", read_at=1713810000.0, tried_at=1713810000.0, map_version=1))
        s.add(st.Footprint(instrument_id=47, name="ZTF", polygons=[[[0, 0], [1, 0], [1, 1]]], fetched=1713810000.0))
        s.add(st.HermesReport(plan_id=plans[1].id, event_id="S240422ed", message={"title": "report"}, valid=True,
                              status="published", uuid="1b4e28ba-2fa1-11d2-883f-0016d3cca427"))
        s.add(st.HermesSeen(uuid="1b4e28ba-2fa1-11d2-883f-0016d3cca427", event_id="S240422ed"))
    with store.engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_candidates_event_dec"))
    with store.session() as s:
        counts = {t.name: s.scalar(select(func.count()).select_from(t)) for t in st.Base.metadata.sorted_tables}
    store.close()
    return counts


if __name__ == "__main__":
    rows = fill(sys.argv[1])
    (Path(__file__).parent / "rows.json").write_text(json.dumps(rows, indent=1, sort_keys=True) + "\n")
    print(rows)
