"""Block Kit builders: pure functions from our data to Slack message JSON.

Every builder returns ``(text, blocks)``: ``text`` is the notification and
fallback text, ``blocks`` the rich layout. Slack's limits (50 blocks, 150
characters per header, 3,000 per section text, 2,000 per field, 10 fields)
are enforced here, so a long circular can never make a post fail.

Text from the streams (circulars, notices, alert fields) and from users (file
and candidate names) is data, never markup: it goes through :func:`escape`, so
``<!channel>`` or ``<https://evil|GraceDB>`` inside it pings no one and links
nowhere; links are made only by :func:`link`, from URLs that pass its check.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from bot import formatting as fmt
from bot.commands.check import CheckResult
from bot.commands.records import (
    CandidateLine,
    CoverageView,
    EventLine,
    HermesNote,
    Marked,
    MarkOutcome,
    ReportView,
    StatusReport,
    StoredSummary,
)
from bot.commands.text import candidate_lines
from bot.events.facts import EventFacts
from bot.ingest.gcn import Circular, Notice
from bot.ingest.gwalert import GWAlert, epoch
from bot.plans.status import standing
from bot.skymap.summary import Summary

HEADER_MAX = 150
SECTION_MAX = 3000
FIELD_MAX = 2000
FIELDS_MAX = 10
BLOCKS_MAX = 50
TOPIC_MAX = 250

Blocks = list[dict[str, Any]]


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_SAFE_URL = re.compile(r"^https?://[^\s<>|]+$")


def escape(text: Any) -> str:
    """Outside text for mrkdwn: &, < and > as entities (Slack's own rule), so it cannot mention or link."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str | None, label: str) -> str:
    """A mrkdwn link when the URL is a plain http(s) URL; otherwise the label alone (escaped)."""
    if url and _SAFE_URL.match(url):
        return f"<{url.replace('&', '&amp;')}|{escape(label)}>"
    return escape(label)


def header(text: str) -> dict:
    return {"type": "header", "text": {"type": "plain_text", "text": clip(text, HEADER_MAX), "emoji": True}}


def section(text: str, fields: list[str] | None = None) -> dict:
    block: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_MAX)}}
    if fields:
        block["fields"] = [{"type": "mrkdwn", "text": clip(f, FIELD_MAX)} for f in fields[:FIELDS_MAX]]
    return block


def fields_section(fields: list[str]) -> dict:
    return {"type": "section", "fields": [{"type": "mrkdwn", "text": clip(f, FIELD_MAX)} for f in fields[:FIELDS_MAX]]}


def context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, SECTION_MAX)}]}


def _limit(blocks: Blocks) -> Blocks:
    return blocks[:BLOCKS_MAX]


def channel_link(channel_id: str | None, channel_name: str | None) -> str | None:
    if channel_id and channel_id.startswith("#"):  # dry run: no workspace, no IDs
        return channel_id
    if channel_id:
        return f"<#{channel_id}>"
    return f"#{channel_name}" if channel_name else None


def _percent_list(values: dict[str, float]) -> str:
    ordered = sorted(values.items(), key=lambda kv: kv[1], reverse=True)
    return " · ".join(f"{escape(name)} {100 * p:.0f}%" if p >= 0.005 or p == 0 else f"{escape(name)} &lt;1%"
                      for name, p in ordered)


def most_likely_class(classification: dict[str, float]) -> str | None:
    if not classification:
        return None
    name, p = max(classification.items(), key=lambda kv: kv[1])
    return f"{name} {100 * p:.0f}%"


def _event_time(text: str, now: datetime) -> str:
    when = epoch(text)
    if when is None:
        return "unknown"
    moment = datetime.fromtimestamp(when, UTC)
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC ({fmt.time_since(moment, now)})"


def _far(far_hz: float | None) -> str:
    return "unknown" if far_hz is None else fmt.far_per_year(far_hz)


def _localization(summary: Summary) -> list[str]:
    return [f"90% area *{fmt.area(summary.area_90_deg2)}*, 50% area {fmt.area(summary.area_50_deg2)}",
            f"most probable position RA {summary.ra_deg:.2f}° Dec {summary.dec_deg:+.2f}°"
            f" ({fmt.ra_hms(summary.ra_deg)} {fmt.dec_dms(summary.dec_deg)})"]


def gw_title(alert: GWAlert, retracted: bool = False) -> str:
    parts = [alert.superevent_id, alert.alert_type]
    if alert.is_mock:
        parts.append("MOCK")
    title = " · ".join(parts)
    return f"RETRACTED — {title}" if retracted else title


def gw_summary(
    alert: GWAlert,
    summary: Summary | None,
    now: datetime,
    event_channel: str | None = None,
    retracted: bool = False,
    combined: Summary | None = None,
) -> tuple[str, Blocks]:
    """The summary of one igwn.gwalert (not a retraction).

    ``summary`` is the GW-only sky map's (the event's localization); ``combined`` the GW x external
    coincidence map's, shown after it and labelled with the coincident observatory.
    """
    ev = alert.event
    assert ev is not None, "retractions use gw_retraction"
    significance = "significant" if ev.significant else "low significance"
    facts = [
        f"*Event time*\n{_event_time(ev.time, now)}",
        f"*False alarm rate*\n{_far(ev.far)} ({significance})",
        f"*Search*\n{escape(ev.group)} · {escape(ev.pipeline)}" + (f" · {escape(ev.search)}" if ev.search else ""),
        f"*Detectors*\n{escape(' '.join(ev.instruments)) or 'unknown'}",
    ]
    if ev.classification:
        facts.append(f"*Classification*\n{_percent_list(ev.classification)}")
    if ev.properties:
        facts.append(f"*Properties*\n{_percent_list(ev.properties)}")
    if ev.duration is not None or ev.central_frequency is not None:
        burst = []
        if ev.duration is not None:
            burst.append(f"duration {ev.duration * 1e3:.1f} ms" if ev.duration < 1 else f"duration {ev.duration:.2f} s")
        if ev.central_frequency is not None:
            burst.append(f"central frequency {ev.central_frequency:.0f} Hz")
        facts.append("*Burst*\n" + ", ".join(burst))
    blocks: Blocks = [header(gw_title(alert, retracted))]
    if retracted:
        blocks.append(section(":no_entry: *This event was retracted* — it is not astrophysical."))
    blocks.append(fields_section(facts))
    loc_text = "*Localization*: " + ("sky map could not be read" if alert.skymap else "no sky map in this alert")
    if summary is not None:
        loc = _localization(summary)
        if summary.distance_mean_mpc is not None:
            loc.append(f"distance *{fmt.distance(summary.distance_mean_mpc, summary.distance_std_mpc)}*"
                       f" (distance modulus {summary.distance_modulus:.1f})")
        else:
            loc.append("no distance in this sky map")
        loc_text = "*Localization* (GW sky map)\n" + "\n".join(loc)
    blocks.append(section(loc_text))
    if alert.external_coinc is not None:
        ext = alert.external_coinc
        lines = [f"*External coincidence*: {escape(ext.observatory)} {escape(ext.search)},"
                 f" Δt = {ext.time_difference:+.2f} s"]
        if combined is not None:
            lines.append(f"with {escape(ext.observatory)}: 90% {fmt.area(combined.area_90_deg2)}, "
                         + _localization(combined)[1] + " (combined map; assumes the coincidence is real)")
        if ext.time_coincidence_far is not None:
            lines.append(f"joint FAR (time) {fmt.far_per_year(ext.time_coincidence_far)}")
        if ext.time_sky_position_coincidence_far is not None:
            lines.append(f"joint FAR (time + sky) {fmt.far_per_year(ext.time_sky_position_coincidence_far)}")
        blocks.append(section("\n".join(lines)))
    links = []
    if alert.urls.get("gracedb"):
        links.append(link(alert.urls["gracedb"], "GraceDB"))
    if event_channel:
        links.append(f"channel {event_channel}")
    links.append(f"alert issued {escape(alert.time_created.replace('T', ' ').replace('Z', ' UTC'))}")
    blocks.append(context(" · ".join(links)))
    if not retracted:
        blocks.append(check_button(alert.superevent_id))
    area = f", 90% area {fmt.area(summary.area_90_deg2)}" if summary else ""
    dist = (f", {fmt.distance(summary.distance_mean_mpc, summary.distance_std_mpc)}"
            if summary and summary.distance_mean_mpc is not None else "")
    cls = most_likely_class(ev.classification)
    text = (f"{'RETRACTED: ' if retracted else ''}{alert.superevent_id} {alert.alert_type}"
            f"{' (mock)' if alert.is_mock else ''}: {escape(cls) + ', ' if cls else ''}{significance}{area}{dist}")
    return text, _limit(blocks)


CHECK_ACTION = "check_candidate"


def check_button(event_id: str) -> dict:
    return {"type": "actions", "block_id": f"check:{event_id}",
            "elements": [{"type": "button", "action_id": CHECK_ACTION, "value": event_id,
                          "text": {"type": "plain_text", "text": "Check a candidate"}}]}


def gw_retraction(alert: GWAlert) -> tuple[str, Blocks]:
    text = f"{alert.superevent_id} was RETRACTED: it is not an astrophysical event."
    blocks = [header(f"RETRACTED — {alert.superevent_id}" + (" · MOCK" if alert.is_mock else "")),
              section(f":no_entry: *{alert.superevent_id} was retracted* by LIGO/Virgo/KAGRA: it is not an"
                      " astrophysical event. Stop follow-up observations."),
              context(" · ".join(filter(None, [
                  link(alert.urls["gracedb"], "GraceDB") if alert.urls.get("gracedb") else None,
                  f"retraction issued {escape(alert.time_created.replace('T', ' ').replace('Z', ' UTC'))}"])))]
    return text, blocks


def fact_parts(facts: EventFacts) -> list[str]:
    """'BBH 99%', '90% 165 deg²', '465 ± 93 Mpc': what is known, formatted."""
    parts = []
    if facts.class_name is not None and facts.class_prob is not None:
        parts.append(escape(most_likely_class({facts.class_name: facts.class_prob})))
    if facts.area_90_deg2 is not None:
        parts.append(f"90% {fmt.area(facts.area_90_deg2)}")
    if facts.distance_mean_mpc is not None:
        parts.append(fmt.distance(facts.distance_mean_mpc, facts.distance_std_mpc))
    return parts


def event_topic(alert_type: str, facts: EventFacts, retracted: bool) -> str:
    """The event channel's topic: type, classification, area, distance."""
    return clip(" · ".join(["RETRACTED" if retracted else alert_type, *fact_parts(facts)]), TOPIC_MAX)


def circular(message: Circular) -> tuple[str, Blocks]:
    title = f"GCN Circular {message.number}" if message.number is not None else "GCN Circular"
    link = f"https://gcn.nasa.gov/circulars/{message.number}" if message.number is not None else None
    body = message.body.strip()
    blocks = [header(title), section(f"*{escape(message.subject)}*"), section(escape(body) or "(empty body)")]
    tail = [f"<{link}|full circular>"] if link else []
    if message.submitter:
        tail.append(f"from {escape(message.submitter.split('<')[0].strip())}")
    if tail:
        blocks.append(context(" · ".join(tail)))
    return f"{title}: {escape(message.subject)}", blocks


def notice(message: Notice) -> tuple[str, Blocks]:
    title = message.kind + (" (TEST)" if message.test else "")
    facts = []
    if message.trigger_time:
        facts.append(f"*Trigger time*\n{escape(message.trigger_time)}")
    if message.ra is not None and message.dec is not None:
        err = f" ± {message.error_deg:g}°" if message.error_deg is not None else ""
        facts.append(f"*Position*\nRA {message.ra:.2f}° Dec {message.dec:+.2f}°{err}")
    if message.far is not None:
        facts.append(f"*False alarm rate*\n{fmt.far_per_year(message.far)}")
    if message.event_ids:
        facts.append(f"*About*\n{', '.join(message.event_ids)}")
    facts += [f"*{label}*\n{escape(value)}" for label, value in message.facts]
    blocks = [header(title)]
    for i in range(0, len(facts), FIELDS_MAX):
        blocks.append(fields_section(facts[i:i + FIELDS_MAX]))
    blocks.append(context(f"GCN notice on `{escape(message.topic)}`"))
    about = f" about {', '.join(message.event_ids)}" if message.event_ids else ""
    return f"{escape(title)}{about}", _limit(blocks)


def ops_error(topic: str, partition: int | None, offset: int | None, reason: str) -> tuple[str, Blocks]:
    where = escape(f"{topic} [{partition}] @ {offset}")
    text = f"Could not understand a message on {where}: {escape(reason)}"
    return text, [section(f":warning: *Could not understand a message* on `{where}`\n{clip(escape(reason), 2500)}"),
                  context("It was logged and skipped; the stream goes on.")]


def ops_alarm(what: str, detail: str) -> tuple[str, Blocks]:
    """Something the people running the bot must know (and usually act on)."""
    return f"gwbot: {escape(what)}", [section(f":rotating_light: *{escape(what)}*\n{clip(escape(detail), 2800)}")]


EVENT_LINK = "{event_channel}"  # where a summary names the event's channel: filled in when it is sent


def fill_event_link(blocks: Blocks, channel_id: str | None, channel_name: str | None) -> Blocks:
    """The blocks with the event channel's link in place of :data:`EVENT_LINK`."""
    flat = json.dumps(blocks)
    if EVENT_LINK not in flat:
        return blocks
    return json.loads(flat.replace(EVENT_LINK, channel_link(channel_id, channel_name) or "(no event channel)"))


def info_message(summary: StoredSummary) -> tuple[str, Blocks]:
    """/gw info: the event's latest summary as posted (RETRACTED when it was)."""
    if summary.text is None:
        return f"{summary.event_id} was retracted.", [section(f"*{summary.event_id}* was retracted.")]
    blocks = fill_event_link(summary.blocks, summary.channel_id, summary.channel_name)
    return mark_retracted(summary.text, blocks) if summary.retracted else (summary.text, blocks)


def marked_text(marked: Marked) -> str:
    """What marking a candidate for the HERMES report did."""
    what, event = escape(marked.object_id), escape(marked.event_id)
    if marked.outcome is MarkOutcome.GONE:
        return f"{what} is not a candidate of {event} any more."
    if marked.outcome is MarkOutcome.ALREADY:
        return f"{what} was already marked by <@{marked.by}>."
    return f"Marked {what}: it goes into {event}'s HERMES reports as a target."


def mark_retracted(text: str, blocks: Blocks) -> tuple[str, Blocks]:
    """An earlier summary, edited to say RETRACTED (idempotent)."""
    if text.startswith("RETRACTED"):
        return text, blocks
    edited: Blocks = []
    for block in blocks:
        if block.get("type") == "actions":
            continue  # no candidate checks on a retracted event
        if block.get("type") == "header":
            title = block["text"]["text"]
            edited.append(header(title if title.startswith("RETRACTED") else f"RETRACTED — {title}"))
            edited.append(section(":no_entry: *This event was retracted* — it is not astrophysical."))
        else:
            edited.append(block)
    return f"RETRACTED: {text}", _limit(edited)


def help_message(usages: list[str]) -> tuple[str, Blocks]:
    lines = [f"`{usage}`" for usage in usages]
    text = ("*gwbot commands*\n" + "\n".join(lines) +
            "\nIn an event channel the event ID may be left out: `/gw check 197.45 -23.38`."
            "\nSeveral candidates: one per line after `/gw check S230918aq`, or share a CSV file"
            " (columns ra, dec[, distance][, time][, name]) with `/gw check S230918aq` as its comment.")
    return "gwbot commands", [section(text)]


def _ago(seconds: float) -> str:
    now = datetime.now(UTC)
    return fmt.time_since(datetime.fromtimestamp(now.timestamp() - seconds, UTC), now)


def events_message(events: list[EventLine]) -> tuple[str, Blocks]:
    """/gw list: one line per event."""
    if not events:
        return "No events yet.", [section("No events yet: the bot has not received any alert.")]
    lines = []
    for e in events:
        parts = [f"*{e.event_id}*" + (" (mock)" if e.is_mock else ""),
                 "RETRACTED" if e.retracted else (e.last_alert_type or "")]
        parts += fact_parts(e.facts)
        if not e.retracted:
            parts.append("significant" if e.facts.significant else "low significance")
        parts.append(_ago(e.age_s))
        where = channel_link(e.channel_id, None)
        if where:
            parts.append(where)
        lines.append(" · ".join(parts))
    return f"The latest {len(events)} events", [header(f"Latest {len(events)} events"), section("\n".join(lines))]


def status_message(report: StatusReport) -> tuple[str, Blocks]:
    """/gw status."""
    lines = [f"*Stream*: {'connected' if report.connected else 'NOT connected'}"
             + (f" to `{escape(report.url)}`" if report.url else "")
             + (f" as group `{escape(report.group_id)}`" if report.group_id else "")]
    if report.problem:
        lines.append(f":rotating_light: {escape(report.problem)}")
    for t in report.topics:
        silent = f"; {t.silent} older than GWBOT_POST_MAX_AGE taken in silently" if t.silent else ""
        if t.rate is not None:  # a broker topic
            lag = f", {t.lag} behind" if t.lag is not None else ""
            lines.append(f"• `{escape(t.topic)}`: last message {_ago(t.age_s)}, {t.rate:.1f} alerts/s{lag}")
        else:
            lines.append(f"• `{escape(t.topic)}`: last message {_ago(t.age_s)} (offset {t.offset}){silent}")
    if not report.topics:
        lines.append("• no message received yet")
    lines.append(f"*Slack deliveries*: {report.pending} pending, {report.failed} failed")
    if report.slack_calls:
        lines.append("*Slack calls, last minute* (budget: Slack's tier): " + ", ".join(
            f"`{r.method}` {r.last_minute}" + (f"/{r.budget} ({r.tier})" if r.budget else "")
            for r in report.slack_calls[:8]))
    if report.stalled_s:
        lines.append(f":rotating_light: the oldest pending delivery has waited {report.stalled_s:.0f} s"
                     " (see the log and the ops channel)")
    state = "reachable" if report.database_ok else "NOT writable (messages wait; see the log)"
    lines.append(f"*Database*: {report.database}, {state}")
    lines.append(f"*Uptime*: {_ago(report.uptime_s)[:-4]} · gwbot {report.version}")
    return "gwbot status", [section("\n".join(lines))]


_ICONS = {"plausible": ":large_green_circle:", "unlikely": ":large_orange_circle:", "excluded": ":red_circle:"}


def check_message(result: CheckResult, shown: int) -> tuple[str, Blocks]:
    """A check's answer: the best-placed candidates first (at most ``shown``), a tally, the notes."""
    n = len(result.candidates)
    title = f"{result.event_id}: {n:,} candidate{'s' if n != 1 else ''} checked"
    blocks: Blocks = [header(title)]
    if n > 1:
        labels = [c.plausibility for c in result.candidates]
        tally = ", ".join(f"{labels.count(k):,} {k}" for k in ("plausible", "unlikely", "excluded"))
        more = f" Showing the {shown} best placed; all are in the attached CSV." if n > shown else ""
        blocks.append(section(f"{tally}.{more}"))
    for c in result.best_first()[:shown]:
        first, *rest = candidate_lines(c, result.combined_observatory)
        blocks.append(section("\n".join([f"{_ICONS[c.plausibility]} *{escape(c.label)}* — {escape(first)}",
                                         *map(escape, rest)])))
    if result.notes:
        blocks.append(context(" ".join(result.notes)))
    text = candidate_lines(result.candidates[0])[0] if n == 1 else title
    return escape(text), _limit(blocks)


PLAN_APPROVE, PLAN_REJECT, PLAN_REPLAN = "plan_approve", "plan_reject", "plan_replan"
PLAN_HERMES, HERMES_PUBLISH = "plan_hermes_prepare", "hermes_publish"
_PLAN_STATUS = {
    "proposed": ":hourglass: Waiting for an approver",
    "draft": ":memo: For information (cannot be submitted from here)",
    "approved": ":white_check_mark: Approved — submitting",
    "submitting": ":white_check_mark: Approved — submitting",
    "submitted": ":telescope: Submitted",
    "done": ":checkered_flag: Finished at the facility",
    "rejected": ":x: Rejected",
    "expired": ":alarm_clock: Expired without approval",
    "superseded": ":arrows_counterclockwise: Superseded",
    "failed": ":warning: Submission failed",
}


def _utc(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC") if ts else ""


def others_line(others: dict, new_prob: float, gross_prob: float | None) -> str:
    """What others have already covered (Treasure Map) and what the plan adds."""
    if not others["n_pointings"]:
        return ("*Others' coverage*: no pointings in comparable bands on Treasure Map yet. "
                f"This plan adds {100 * new_prob:.1f}% of the probability.")
    who = ", ".join(f"{escape(name)} {n}" for name, n in list(others["instruments"].items())[:6])
    line = (f"*Others' coverage* (Treasure Map, comparable bands): {100 * others['completed_prob']:.1f}% of the "
            f"probability already observed ({100 * others['area90_fraction']:.0f}% of the 90% region) by "
            f"{others['n_pointings']} pointings ({who})")
    if others["planned_prob"] > 0.0005:
        line += f"; {100 * others['planned_prob']:.1f}% more is planned (counted half)"
    line += f".\n*This plan adds {100 * new_prob:.1f}% new probability*"
    if gross_prob is not None:
        line += f" (its fields hold {100 * gross_prob:.1f}% in all)"
    return line + ". `--ignore-others` plans without it."


def plan_message(plan: dict) -> tuple[str, Blocks]:
    """The plan post: what, how much probability, where and when, and what happened to it.

    ``plan`` holds the stored plan's columns (id, event_id, status, summary, decided_by, ...).
    """
    s = plan["summary"]
    hours = s["total_exposure_s"] / 3600
    title = f"{plan['event_id']} · plan for {s['facility'].upper()} {s['instrument']}"
    others = s.get("others")
    facts = [f"*Fields scheduled*\n{s['n_fields']}",
             f"*{'New probability' if others else 'Probability covered'}*\n{100 * s['covered_prob']:.1f}%",
             f"*Filters × exposure*\n{', '.join(s['filters'])} × {s['exposure_s']:g} s"
             + (f"\nthen {s['n_revisits']} revisited in {s['revisit']} ≥{s['revisit_gap_s'] / 60:g} min later"
                if s.get("revisit") else ""),
             f"*Total exposure*\n{hours:.1f} h"]
    if s["seconds_per_site"]:
        facts.append("*Time per site*\n" + ", ".join(f"{k} {v / 3600:.1f} h" for k, v in s["seconds_per_site"].items()))
    if s["first_windows"]:
        facts.append("*First exposures*\n" + ", ".join(f"{k} {v[11:16]} UTC" for k, v in
                                                      list(s["first_windows"].items())[:4]))
    if s.get("unscheduled_prob", 0) > 0.001:
        facts.append(f"*Observable, not scheduled*\n{100 * s['unscheduled_prob']:.1f}% (no telescope time left)")
    blocks: Blocks = [header(title), fields_section(facts)]
    if others is not None:
        blocks.append(section(others_line(others, s["covered_prob"], s.get("gross_prob"))))
    elif s.get("others_note"):
        blocks.append(section(f":hourglass: {escape(s['others_note'])}"))
    validation = s.get("validation") or {}
    durations = (validation.get("request_durations") or {}).get("duration")
    check = s.get("validation_note", "")
    if durations:
        check += f" (LCO estimates {durations / 3600:.1f} h in all)"
    errors = s.get("validation_errors") or []
    if errors:
        check += ":\n" + "\n".join(f"• {escape(line)}" for line in errors[:8])
    blocks.append(section(f"*Check*: {check}"))
    status = plan["status"]
    line = _PLAN_STATUS.get(status, status)
    if plan.get("decided_by"):
        line += f" · {'approved' if status not in ('rejected',) else 'rejected'} by <@{plan['decided_by']}>" \
                f" at {_utc(plan.get('decided_at'))}"
    if plan.get("group_id"):
        line += f"\n{plan['facility'].upper()} request group {link(plan.get('group_url'), str(plan['group_id']))}"
        if plan.get("request_states"):
            line += f": {standing(plan['request_states'])}"
    if plan.get("note"):
        line += f"\n{escape(plan['note'])}"
    if status == "proposed":
        line += f"\nExpires at {_utc(plan.get('expires'))}."
    blocks.append(section(line))
    buttons = []
    if status == "proposed":
        buttons = [{"type": "button", "action_id": PLAN_APPROVE, "value": str(plan["id"]), "style": "primary",
                    "text": {"type": "plain_text", "text": "Approve and submit"}},
                   {"type": "button", "action_id": PLAN_REJECT, "value": str(plan["id"]), "style": "danger",
                    "text": {"type": "plain_text", "text": "Reject"}}]
    elif status == "superseded":
        buttons = [{"type": "button", "action_id": PLAN_REPLAN, "value": str(plan["id"]),
                    "text": {"type": "plain_text", "text": "Re-plan on the latest sky map"}}]
    if "COMPLETED" in (plan.get("request_states") or {}).values():  # something was observed: it can be reported
        buttons.append({"type": "button", "action_id": PLAN_HERMES, "value": str(plan["id"]),
                        "text": {"type": "plain_text", "text": "Prepare HERMES report"}})
    if buttons:
        blocks.append({"type": "actions", "block_id": f"plan:{plan['id']}", "elements": buttons})
    blocks.append(context(f"plan {plan['id']} · window {s['window_start'][:16].replace('T', ' ')} –"
                          f" {s['window_end'][:16].replace('T', ' ')} UTC"))
    text = (f"{title}: {s['n_fields']} fields, {100 * s['covered_prob']:.1f}% covered — "
            f"{_PLAN_STATUS.get(status, status).split(' ', 1)[1]}")
    return text, _limit(blocks)


def hermes_report(view: ReportView) -> tuple[str, Blocks]:
    """A prepared HERMES report in the plan's thread: what it says, HERMES's verdict, Publish / Edit in HERMES."""
    lines = [f"*{escape(view.title)}*", f"{view.fields} observed fields as non-detections at their depth"
             + (f"; marked candidates: {escape(', '.join(view.targets))}" if view.targets else "; no marked candidates")
             + f" · topic `{escape(view.topic)}`"]
    if view.errors:
        lines.append("*HERMES objects:*\n" + "\n".join(f"• {escape(e)}" for e in view.errors[:10]))
    elif view.status == "prepared" and view.can_publish:
        lines.append("HERMES accepts it.")
    if view.note:
        lines.append(f"_{escape(view.note)}_")
    state = {"publishing": "Publishing…", "failed": "Not published.",
             "published": f"Published to HERMES by <@{view.published_by}>: "
                          f"{link(view.message_url, view.uuid or 'message')}"}.get(view.status)
    if state:
        lines.append(f"*{state}*")
    blocks: Blocks = [section("\n".join(lines))]
    buttons: list[dict] = []
    if view.status == "prepared" and view.can_publish:
        buttons.append({"type": "button", "action_id": HERMES_PUBLISH, "value": str(view.id), "style": "primary",
                        "text": {"type": "plain_text", "text": "Publish"}})
    if view.edit_url and view.status in ("prepared", "failed"):
        buttons.append({"type": "button", "action_id": "hermes_edit", "url": view.edit_url,
                        "text": {"type": "plain_text", "text": "Edit in HERMES"}})
    if buttons:
        blocks.append({"type": "actions", "block_id": f"hermes:{view.id}:{view.status}", "elements": buttons})
    blocks.append(context(f"HERMES report {view.id} of {view.event_id} · only approvers may publish, once"))
    return f"HERMES report {view.id}: {escape(view.title)} ({view.status})", blocks


def hermes_message(note: HermesNote) -> tuple[str, Blocks]:
    """Someone's HERMES message about the event, posted like a circular."""
    blocks = [header("HERMES message"), section(f"*{escape(note.title)}*"),
              section(escape(note.text.strip()) or "(no text)"),
              context(" · ".join([link(note.url, "on HERMES"),
                                  *([f"by {escape(note.authors)}"] if note.authors else []), escape(note.topic)]))]
    return f"HERMES: {escape(note.title)}", blocks


def coverage_message(view: CoverageView) -> tuple[str, Blocks]:
    """/gw coverage: who has pointed where for the event (Treasure Map), and the probability it holds."""
    title = f"{view.event_id} · coverage on Treasure Map"
    if view.read_at is None:
        body = f"Treasure Map could not be read: {escape(view.problem or 'no answer')}."
    elif not view.counted:
        body = "No pointings on the current map after the merger yet."
    else:
        who = ", ".join(f"{escape(name)} {n}" for name, n in sorted(view.instruments.items(), key=lambda kv: -kv[1]))
        body = f"{view.counted} pointings ({view.ours} ours) by {len(view.instruments)} instruments: {who}."
        for family, (done, planned) in view.by_family.items():
            body += f"\n• {family}: {100 * done:.1f}% of the probability observed"
            if planned > 0.0005:
                body += f", {100 * planned:.1f}% more planned"
    if view.problem and view.read_at is not None:
        body += f"\n_The last read failed ({escape(view.problem)}); this is from {_utc(view.read_at)}._"
    blocks: Blocks = [header(title), section(body),
                      context("Dashed: planned · solid: observed · 50% and 90% contours of the current map")]
    return f"{title}: {view.counted} pointings", blocks


# --- broker candidates ----------------------------------------------------------------------------

CANDIDATE_CHECK = "check_broker_candidate"
CANDIDATE_MARK = "mark_broker_candidate"
DIGEST_SHOWN = 20


def days_after(days: float | None) -> str:
    if days is None:
        return "time unknown"
    return f"{days * 24:.1f} h after merger" if days < 2 else f"{days:.1f} d after merger"


def _distance_verdict(line: CandidateLine) -> str | None:
    if line.distance_cl is None or line.host_distance_mpc is None:
        return None
    word = "far outside the distance posterior" if line.distance_outlier else \
        "distance in tension" if line.distance_cl > 0.9 else "distance consistent"
    return f"host {line.host_distance_mpc:.0f} Mpc: {word} (CL {line.distance_cl:.2f})"


def candidate_line(line: CandidateLine) -> str:
    """'<url|ZTF26aab> (fink) · CL 0.42 · 5.2 h after merger · r 19.8 · host 120 Mpc: distance consistent'."""
    parts = [f"*{link(line.url, line.object_id)}* ({escape(line.broker)})", f"CL {line.credible_level:.2f}",
             days_after(line.days_after_merger)]
    if line.mag is not None:
        parts.append(f"{escape(line.band or '?')} {line.mag:.1f} mag")
    distance = _distance_verdict(line)
    if distance:
        parts.append(distance)
    if not line.inside:
        parts.append("_outside the region of the newest map_")
    return " · ".join(parts)


def _check_value(line: CandidateLine) -> str:
    distance = f"{line.host_distance_mpc:.3f}" if line.host_distance_mpc is not None else ""
    parts = (line.event_id, f"{line.ra_deg:.6f}", f"{line.dec_deg:.6f}", f"{line.last_mjd:.6f}", distance,
             line.object_id)
    return "|".join(parts)[:2000]


def parse_check_value(value: str) -> tuple[str, float, float, float, float | None, str]:
    """The digest button's value: event, RA, Dec, MJD of the last detection, host distance, object id."""
    event_id, ra, dec, mjd, distance, object_id = value.split("|", 5)
    return event_id, float(ra), float(dec), float(mjd), float(distance) if distance else None, object_id


def candidate_digest(event_id: str, lines: list[CandidateLine], shown: int = DIGEST_SHOWN) -> tuple[str, Blocks]:
    """New candidates in the event's region, best first, each with a Check button; details follow in the thread."""
    ordered = sorted(lines, key=CandidateLine.rank_key)
    n = len(ordered)
    title = f"{n} new counterpart candidate{'s' if n != 1 else ''} for {event_id}"
    blocks: Blocks = [header(title)]
    for line in ordered[:shown]:
        block = section(candidate_line(line))
        block["accessory"] = {"type": "button", "action_id": CANDIDATE_CHECK, "value": _check_value(line),
                              "text": {"type": "plain_text", "text": "Check"}}
        blocks.append(block)
    if n > shown:
        blocks.append(context(f"and {n - shown} more: `/gw candidates {event_id} {n}`"))
    blocks.append(context("From the alert brokers' streams, inside the credible region of the newest sky map. "
                          "Details and later detections in the thread."))
    names = ", ".join(escape(line.object_id) for line in ordered[:5])
    return f"{title}: {names}{' …' if n > 5 else ''}", _limit(blocks)


def candidate_detail(line: CandidateLine, reasons: list[str]) -> tuple[str, Blocks]:
    """The evidence for one candidate, in the digest's thread."""
    facts = [f"*Position*\n{fmt.ra_hms(line.ra_deg)} {fmt.dec_dms(line.dec_deg)} "
             f"({line.ra_deg:.5f}, {line.dec_deg:+.5f})",
             f"*Credible level*\n{line.credible_level:.3f} (density {line.density_per_deg2:.2e} /deg²)",
             f"*First seen*\n{days_after(line.days_after_merger)}"]
    if line.reliability is not None:
        facts.append(f"*Reliability*\n{line.reliability:.2f}")
    distance = _distance_verdict(line)
    if distance:
        facts.append(f"*Distance*\n{distance}")
    if line.aliases:
        facts.append(f"*Also reported as*\n{escape(', '.join(line.aliases))}")
    text = f"{line.object_id} ({line.broker}): {', '.join(reasons)}"
    first = section(f"*{link(line.url, line.object_id)}* ({escape(line.broker)}): {escape(', '.join(reasons))}")
    first["accessory"] = {"type": "button", "action_id": CANDIDATE_MARK,
                          "value": "|".join((line.event_id, line.broker, line.object_id))[:2000],
                          "text": {"type": "plain_text", "text": "Mark for report"}}
    return escape(text), [first, fields_section(facts)]


def candidate_detections(updates: list[tuple[CandidateLine, list[tuple[float, str | None, float | None]]]]) \
        -> tuple[str, Blocks]:
    """Later detections of posted candidates, one post per digest thread: per object, (MJD, band, magnitude)."""
    rows = []
    for line, detections in updates:
        seen = ", ".join(f"MJD {mjd:.4f} {escape(band or '?')}"
                         f"{f' {mag:.2f}' if mag is not None else ''}" for mjd, band, mag in sorted(detections)[-5:])
        rows.append(f"• *{link(line.url, line.object_id)}*: {len(detections)} new ({seen})")
    count = sum(len(d) for _, d in updates)
    text = f"{count} new detection{'s' if count != 1 else ''} of {len(updates)} posted candidate" \
           f"{'s' if len(updates) != 1 else ''}"
    return text, [section("\n".join(rows[i:i + 15])) for i in range(0, min(len(rows), 600), 15)][:BLOCKS_MAX]


def candidate_moved(line: CandidateLine, inside: bool, max_cl: float) -> tuple[str, Blocks]:
    """A newer sky map moved a posted candidate out of (or back into) the region."""
    what = (f"is back inside the {max_cl:.0%} region of the newest sky map" if inside
            else f"is outside the {max_cl:.0%} region of the newest sky map")
    text = f"{line.object_id} {what} (CL now {line.credible_level:.3f})"
    icon = ":arrow_right:" if inside else ":arrow_left:"
    return escape(text), [section(f"{icon} *{link(line.url, line.object_id)}* {what} "
                                  f"(CL now {line.credible_level:.3f}).")]


def candidate_stream_ended(event_id: str, why: str) -> tuple[str, Blocks]:
    text = f"Candidate stream for {event_id} ended: {why}"
    return escape(text), [section(f":no_entry: *Candidate stream for {escape(event_id)} ended*: {escape(why)}")]


def candidates_message(event_id: str, lines: list[CandidateLine], total: int, shown: int) -> tuple[str, Blocks]:
    """``/gw candidates``: the event's candidates so far, best first."""
    if not lines:
        text = f"No broker candidates for {event_id} match."
        return text, [section(text)]
    title = f"{event_id}: {total} broker candidate{'s' if total != 1 else ''}" + \
        (f", best {len(lines[:shown])} shown" if total > shown else "")
    numbered = [f"{i + 1}. {candidate_line(line)}" for i, line in enumerate(lines[:shown])]
    chunks = [section("\n".join(numbered[i:i + 10])) for i in range(0, len(numbered), 10)]
    return title, _limit([header(title), *chunks])
