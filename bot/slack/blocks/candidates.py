"""Broker candidates: the digest, a candidate's detail, detections, moves in and out of the region, /gw candidates."""

from __future__ import annotations

from bot import formatting as fmt
from bot.commands.records import CandidateLine
from bot.slack.blocks.kit import (
    BLOCKS_MAX,
    Blocks,
    context,
    escape,
    fields_section,
    header,
    limit_blocks,
    link,
    section,
)

__all__ = ["CANDIDATE_CHECK", "CANDIDATE_MARK", "DIGEST_SHOWN", "candidate_detail", "candidate_detections",
           "candidate_digest", "candidate_line", "candidate_moved", "candidate_stream_ended",
           "candidates_message", "days_after", "parse_check_value"]


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
    return f"{title}: {names}{' …' if n > 5 else ''}", limit_blocks(blocks)


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
    return title, limit_blocks([header(title), *chunks])
