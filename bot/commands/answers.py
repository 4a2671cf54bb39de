"""Answers to /gw commands, computed from the store and the sky-map core (no Slack I/O here).

Each answer is a :class:`Reply`: text and Block Kit, whether it is for the
channel or only for the person who asked, and an optional file to upload.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import func, select, text

from bot import __version__
from bot import formatting as fmt
from bot.commands.parse import USAGE, Candidate, UsageError
from bot.events.maps import MapCache
from bot.events.store import Delivery, Event, Store, TopicProgress
from bot.skymap.crossmatch import crossmatch, verdict, verdict_text
from bot.skymap.render import labels_for, render_png
from bot.skymap.summary import summarize
from bot.slack import blocks as bk
from bot.slack.outbox import EVENT_LINK

SHOWN_CANDIDATES = 20


@dataclass
class Reply:
    text: str
    blocks: list = field(default_factory=list)
    public: bool = False
    file: tuple[str, bytes, str] | None = None  # (filename, data, title)


def _age(ts: float, now: float) -> str:
    return fmt.time_since(datetime.fromtimestamp(ts, UTC), datetime.fromtimestamp(now, UTC))


class Answers:
    def __init__(self, store: Store, maps: MapCache | None = None,
                 stream_status: Callable[[], dict] = dict, started: float | None = None) -> None:
        self.store = store
        self.maps = maps or MapCache(store)
        self.stream_status = stream_status
        self.started = started or time.time()

    # --- which event ------------------------------------------------------------------------------

    def event(self, event_id: str | None, channel_id: str | None, usage: str) -> Event:
        """The event named, or the one whose channel this is; a UsageError that helps otherwise."""
        with self.store.session() as s:
            if event_id is None:
                event = s.scalar(select(Event).where(Event.channel_id == channel_id)) if channel_id else None
                if event is None:
                    raise UsageError(f"Which event? This is not an event channel, so give its ID.\nUsage: {usage}")
                return event
            event = s.get(Event, event_id)
            if event is not None:
                return event
            known = list(s.scalars(select(Event.event_id)))
        close = difflib.get_close_matches(event_id, known, n=3, cutoff=0.6)
        hint = f" Did you mean {', '.join(close)}?" if close else " See /gw list for the events I know."
        raise UsageError(f"I have no alert for {event_id}.{hint}")

    # --- commands ---------------------------------------------------------------------------------

    def help(self) -> Reply:
        lines = [f"`{USAGE[name]}`" for name in ("list", "info", "skymap", "check", "join", "status", "plan")]
        text = ("*gwbot commands*\n" + "\n".join(lines) +
                "\nIn an event channel the event ID may be left out: `/gw check 197.45 -23.38`."
                "\nSeveral candidates: one per line after `/gw check S230918aq`, or share a CSV file"
                " (columns ra, dec[, distance][, time][, name]) with `/gw check S230918aq` as its comment.")
        return Reply("gwbot commands", [bk.section(text)])

    def list(self, count: int) -> Reply:
        now = time.time()
        with self.store.session() as s:
            events = list(s.scalars(select(Event).order_by(Event.updated.desc()).limit(count)))
        if not events:
            return Reply("No events yet.", [bk.section("No events yet: the bot has not received any alert.")])
        lines = []
        for e in events:
            f = e.facts or {}
            parts = [f"*{e.event_id}*" + (" (mock)" if e.is_mock else ""),
                     "RETRACTED" if e.retracted else (e.last_alert_type or "")]
            parts += [v for v in (f.get("class"), f.get("area"), f.get("distance")) if v]
            if not e.retracted:
                parts.append("significant" if f.get("significant") else "low significance")
            parts.append(_age(e.updated, now))
            link = bk.channel_link(e.channel_id, None)
            if link:
                parts.append(link)
            lines.append(" · ".join(parts))
        return Reply(f"The latest {len(events)} events", [bk.header(f"Latest {len(events)} events"),
                                                          bk.section("\n".join(lines))])

    def info(self, event: Event) -> Reply:
        if not event.summary:
            return Reply(f"{event.event_id} was retracted.", [bk.section(f"*{event.event_id}* was retracted.")])
        link = bk.channel_link(event.channel_id, event.channel_name) or "(no event channel)"
        text, blocks = event.summary["text"], json.loads(json.dumps(event.summary["blocks"]).replace(EVENT_LINK, link))
        if event.retracted:
            text, blocks = bk.mark_retracted(text, blocks)
        return Reply(text, blocks, public=True)

    def skymap(self, event: Event) -> Reply:
        latest = self.maps.latest(event.event_id)
        if latest is None:
            raise UsageError(f"{event.event_id} has no sky map yet.")
        _, prepared = latest
        summary = summarize(prepared)
        png = render_png(prepared, labels_for(summary, event.event_id, event.last_alert_type))
        title = f"{event.event_id} {event.last_alert_type or ''} sky map".replace("  ", " ")
        return Reply(title, public=True, file=(f"{event.event_id}.png", png, title))

    def check(self, event: Event, candidates: list[Candidate]) -> Reply:
        if event.retracted:
            raise UsageError(f"{event.event_id} was retracted: it is not astrophysical, so there is nothing to "
                             "check against.")
        if not candidates:
            raise UsageError(f"Give a position.\nUsage: {USAGE['check']}")
        latest = self.maps.latest(event.event_id)
        if latest is None:
            raise UsageError(f"{event.event_id} has no sky map yet.")
        _, prepared = latest
        ra = np.array([c.ra for c in candidates])
        dec = np.array([c.dec for c in candidates])
        dist = np.array([c.distance if c.distance is not None else np.nan for c in candidates])
        result = crossmatch(prepared, ra, dec, dist if np.any(np.isfinite(dist)) else None)
        combined_map = self.maps.latest(event.event_id, "combined")
        combined = crossmatch(combined_map[1], ra, dec).credible_level if combined_map else None
        event_time = (event.facts or {}).get("event_time")
        merger = fmt.parse_utc(event_time) if event_time else None
        verdicts = []
        for i, c in enumerate(candidates):
            dcl = result.distance_credible_level[i]
            verdicts.append(verdict(result.credible_level[i], dcl if np.isfinite(dcl) else None, c.time, merger))
        notes = []
        if not prepared.skymap.has_distance and np.any(np.isfinite(dist)):
            notes.append("This sky map has no distance information: candidate distances were not checked.")
        header = f"{event.event_id}: {len(candidates):,} candidate{'s' if len(candidates) != 1 else ''} checked"
        blocks = [bk.header(header)]
        order = np.argsort(result.credible_level, kind="stable")
        shown = order[:SHOWN_CANDIDATES]
        for i in shown:
            text = self._candidate_text(candidates[i], result, i, verdicts[i])
            if combined is not None:
                text += f"\nin the combined GW × external map: credible level {combined[i]:.3f}"
            blocks.append(bk.section(text))
        if len(candidates) > 1:
            labels = [v[0] for v in verdicts]
            tally = ", ".join(f"{labels.count(k):,} {k}" for k in ("plausible", "unlikely", "excluded"))
            more = ""
            if len(order) > len(shown):
                more = f" Showing the {len(shown)} best placed; all are in the attached CSV."
            blocks.insert(1, bk.section(f"{tally}.{more}"))
        if combined is not None:
            notes.append("Verdicts use the GW sky map; the combined map assumes the external coincidence is real.")
        if notes:
            blocks.append(bk.context(" ".join(notes)))
        summary_text = verdict_text(*verdicts[0]) if len(candidates) == 1 else header
        reply = Reply(summary_text, blocks[:bk.BLOCKS_MAX], public=True)
        if len(candidates) > SHOWN_CANDIDATES:
            reply.file = (f"{event.event_id}-check.csv", self._csv(candidates, result, verdicts),
                          f"{event.event_id} counterpart check")
        return reply

    @staticmethod
    def _candidate_text(c: Candidate, r, i: int, v: tuple[str, list[str]]) -> str:
        icon = {"plausible": ":large_green_circle:", "unlikely": ":large_orange_circle:",
                "excluded": ":red_circle:"}[v[0]]
        lines = [f"{icon} *{bk.escape(c.label)}* — {verdict_text(*v)}",
                 f"RA {c.ra:.4f}° Dec {c.dec:+.4f}°: credible level {r.credible_level[i]:.3f}, searched area "
                 f"{fmt.area(r.searched_area_deg2[i])}, {r.probdensity_per_deg2[i]:.3g} per deg², "
                 f"{r.offset_deg[i]:.2f}° from the most probable position"]
        if np.isfinite(r.distance_mean_mpc[i]):
            line = f"distance along this line of sight {fmt.distance(r.distance_mean_mpc[i], r.distance_std_mpc[i])}"
            if c.distance is not None and np.isfinite(r.distance_credible_level[i]):
                line += (f"; at {c.distance:g} Mpc: distance credible level {r.distance_credible_level[i]:.3f}, "
                         f"3D density {r.probdensity_vol_per_mpc3[i]:.3g} per Mpc³")
            lines.append(line)
        return "\n".join(lines)

    @staticmethod
    def _csv(candidates: list[Candidate], r, verdicts) -> bytes:
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(["name", "ra_deg", "dec_deg", "distance_mpc", "credible_level", "searched_area_deg2",
                    "probdensity_per_deg2", "offset_deg", "distance_mean_mpc", "distance_std_mpc",
                    "distance_credible_level", "probdensity_vol_per_mpc3", "plausibility", "verdict"])
        for i, c in enumerate(candidates):
            w.writerow([c.label, f"{c.ra:.6f}", f"{c.dec:.6f}", "" if c.distance is None else c.distance,
                        *(f"{x[i]:.6g}" if np.isfinite(x[i]) else "" for x in (
                            r.credible_level, r.searched_area_deg2, r.probdensity_per_deg2, r.offset_deg,
                            r.distance_mean_mpc, r.distance_std_mpc, r.distance_credible_level,
                            r.probdensity_vol_per_mpc3)),
                        verdicts[i][0], verdict_text(*verdicts[i])])
        return out.getvalue().encode()

    def status(self) -> Reply:
        now = time.time()
        stream = self.stream_status()
        with self.store.session() as s:
            topics = list(s.scalars(select(TopicProgress).order_by(TopicProgress.topic)))
            count = select(func.count()).select_from(Delivery)
            pending = s.scalar(count.where(Delivery.status.in_(("pending", "in_flight"))))
            failed = s.scalar(count.where(Delivery.status == "failed"))
            s.execute(text("SELECT 1"))
        connected = stream.get("connected")
        lines = [f"*Stream*: {'connected' if connected else 'NOT connected'}"
                 + (f" to `{bk.escape(stream['url'])}`" if stream.get("url") else "")
                 + (f" as group `{bk.escape(stream['group_id'])}`" if stream.get("group_id") else "")]
        if stream.get("problem"):
            lines.append(f":rotating_light: {bk.escape(stream['problem'])}")
        for t in topics:
            silent = f"; {t.silent} older than GWBOT_POST_MAX_AGE taken in silently" if t.silent else ""
            lines.append(f"• `{bk.escape(t.topic)}`: last message {_age(t.last_received, now)} "
                         f"(offset {t.last_offset}){silent}")
        if not topics:
            lines.append("• no message received yet")
        lines.append(f"*Slack deliveries*: {pending} pending, {failed} failed")
        if stream.get("outbox_stalled_s"):
            lines.append(f":rotating_light: the oldest pending delivery has waited {stream['outbox_stalled_s']:.0f} s"
                         " (see the log and the ops channel)")
        state = "reachable" if stream.get("database_ok", True) else "NOT writable (messages wait; see the log)"
        lines.append(f"*Database*: {self.store.engine.dialect.name}, {state}")
        lines.append(f"*Uptime*: {fmt.time_since(datetime.fromtimestamp(self.started, UTC), datetime.now(UTC))[:-4]}"
                     f" · gwbot {__version__}")
        return Reply("gwbot status", [bk.section("\n".join(lines))])
