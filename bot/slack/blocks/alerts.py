"""The words of an alert's life: the GW summary, retraction, circulars and notices, the event channel's topic,
and the commands that show them (/gw help, list, info, check)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot import formatting as fmt
from bot.commands.check import CheckResult
from bot.commands.records import EventLine, StoredSummary
from bot.commands.text import candidate_lines
from bot.events.facts import EventFacts
from bot.ingest.gcn import Circular, Notice
from bot.ingest.gwalert import GWAlert, epoch
from bot.skymap.summary import Summary
from bot.slack.blocks.kit import (
    FIELDS_MAX,
    TOPIC_MAX,
    Blocks,
    ago,
    channel_link,
    clip,
    context,
    escape,
    fields_section,
    fill_event_link,
    header,
    limit_blocks,
    link,
    percent_list,
    section,
)

__all__ = ["CHECK_ACTION", "check_button", "check_message", "circular", "event_topic", "events_message", "fact_parts",
           "gw_retraction", "gw_summary", "gw_title", "help_message", "info_message", "mark_retracted",
           "most_likely_class", "notice"]


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
        facts.append(f"*Classification*\n{percent_list(ev.classification)}")
    if ev.properties:
        facts.append(f"*Properties*\n{percent_list(ev.properties)}")
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
    return text, limit_blocks(blocks)


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


def event_topic(alert_type: str, facts: EventFacts, retracted: bool, followup: str | None = None) -> str:
    """The event channel's topic: type, classification, area, distance, and the follow-up verdicts' short form."""
    parts = ["RETRACTED" if retracted else alert_type, *fact_parts(facts)] + ([followup] if followup else [])
    return clip(" · ".join(parts), TOPIC_MAX)


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
    return f"{escape(title)}{about}", limit_blocks(blocks)


def info_message(summary: StoredSummary) -> tuple[str, Blocks]:
    """/gw info: the event's latest summary as posted (RETRACTED when it was)."""
    if summary.text is None:
        return f"{summary.event_id} was retracted.", [section(f"*{summary.event_id}* was retracted.")]
    blocks = fill_event_link(summary.blocks, summary.channel_id, summary.channel_name)
    return mark_retracted(summary.text, blocks) if summary.retracted else (summary.text, blocks)


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
    return f"RETRACTED: {text}", limit_blocks(edited)


def help_message(usages: list[str]) -> tuple[str, Blocks]:
    lines = [f"`{usage}`" for usage in usages]
    text = ("*gwbot commands*\n" + "\n".join(lines) +
            "\nIn an event channel the event ID may be left out: `/gw check 197.45 -23.38`."
            "\nSeveral candidates: one per line after `/gw check S230918aq`, or share a CSV file"
            " (columns ra, dec[, distance][, time][, name]) with `/gw check S230918aq` as its comment.")
    return "gwbot commands", [section(text)]


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
        parts.append(ago(e.age_s))
        where = channel_link(e.channel_id, None)
        if where:
            parts.append(where)
        lines.append(" · ".join(parts))
    return f"The latest {len(events)} events", [header(f"Latest {len(events)} events"), section("\n".join(lines))]


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
    return escape(text), limit_blocks(blocks)
