"""The store on PostgreSQL (GWBOT_DATABASE_URL=postgresql+psycopg://…): a throwaway server started by the test
(``postgres_url`` in tests/pg.py), so this runs on a machine without a system PostgreSQL and never skips."""

from __future__ import annotations

import pytest
from conftest import OLD_ALERTS_TOO, data_file

from bot import config
from bot.app import Bot
from bot.events.pipeline import RawMessage
from bot.store.events import Event, Handled, SkymapVersion

pytestmark = pytest.mark.slow  # see README: the fast tier is pytest -m 'not slow'

def test_pipeline_on_postgresql(postgres_url, tmp_path):
    settings = config.load({"GWBOT_DATABASE_URL": postgres_url, "GWBOT_OUTPUT_DIR": str(tmp_path / "out"),
                            "GWBOT_POST_MAX_AGE": OLD_ALERTS_TOO},
                           dry_run=True)
    names = ["S241102br-preliminary.json", "S241102br-initial.json", "demo-circular-S241102br.json"]
    messages = [(n, data_file(n).read_bytes()) for n in names]
    topics = ["igwn.gwalert", "igwn.gwalert", "gcn.circular"]

    def replay() -> list[str]:
        bot = Bot(settings)
        try:
            outcomes = [bot.pipeline.handle(RawMessage(t, data, None, 0, i))
                        for i, (t, (_, data)) in enumerate(zip(topics, messages, strict=True))]
            assert bot.outbox.drain(60)
            return outcomes
        finally:
            bot.store.close()

    assert replay() == ["posted", "posted", "posted"]
    assert replay() == ["duplicate", "duplicate", "duplicate"]  # the de-duplication key lives in PostgreSQL
    bot = Bot(settings)
    with bot.store.session() as s:
        event = s.get(Event, "S241102br")
        assert event.channel_id == "#s241102br" and event.thread_ts
        assert s.query(Handled).count() == 3
        assert [v.alert_type for v in s.query(SkymapVersion).order_by(SkymapVersion.id)] == ["PRELIMINARY", "INITIAL"]
    assert bot.store.latest_skymap("S241102br").fits[:6] == b"SIMPLE"
    bot.store.close()


def test_sharing_coverage_and_hermes_on_postgresql(postgres_url, tmp_path):
    """Treasure Map sharing (with a lost answer), others' coverage and a HERMES report published once, with the
    store on PostgreSQL (its JSON columns and conditional UPDATEs)."""
    import sqlalchemy
    from fakes.lco_server import FakeLCO
    from hermes_server import FakeHermes
    from test_coordination import EVENT, SINISTRO_SIDE, SINISTRO_TM, others_observed_the_best_fields
    from test_hermes import ALICE, HermesWorld
    from treasuremap_server import FakeTreasureMap, square_ccds

    admin = sqlalchemy.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text("CREATE DATABASE coordination"))
    admin.dispose()
    database = postgres_url.rsplit("/", 1)[0] + "/coordination"
    with FakeLCO(schedule_after=0.0, finish_after=0.3) as lco, FakeTreasureMap(events={EVENT}) as tm, \
            FakeHermes() as hermes:
        tm.add_instrument(SINISTRO_TM, "Sinistro", square_ccds(SINISTRO_SIDE, 2))
        w = HermesWorld(tmp_path, lco, tm, hermes, database)
        others_observed_the_best_fields(w, 4)
        w.coverage.refresh(EVENT)
        tm.lose_answers = 1
        plan_id = w.observed_plan(fields=3)
        w.now[0] += 600
        w.deliver()
        assert len(tm.of(EVENT)) == 3 and {p["status"] for p in tm.of(EVENT)} == {"completed"}
        assert w.plans.get(plan_id).summary["others"]["n_pointings"] == 4
        report = w.reports.prepare(plan_id, ALICE, "C0PLAN", None)
        assert w.reports.publish(report.id, ALICE)[0] and not w.reports.publish(report.id, ALICE)[0]
        w.deliver()
        assert hermes.submits == 1
        w.store.close()
