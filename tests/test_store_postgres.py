"""The store on PostgreSQL (GWBOT_DATABASE_URL=postgresql+psycopg://…): a throwaway server started by the test
(``postgres_url`` in tests/pg.py), so this runs on a machine without a system PostgreSQL and never skips."""

from __future__ import annotations

import pytest
from conftest import OLD_ALERTS_TOO, data_file

from bot import config
from bot.app import Bot
from bot.events.pipeline import RawMessage
from bot.events.store import Event, Handled, SkymapVersion

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
