"""Broker candidates: the digest, a candidate's detail, detections, moves in and out of the region, /gw candidates."""

from __future__ import annotations

from bot import formatting as fmt
from bot.commands.records import CandidateLine, Scan
from bot.slack.blocks.kit import (
    BLOCKS_MAX,
    Blocks,
    clip,
    context,
    escape,
    fields_section,
    header,
    limit_blocks,
    link,
    section,
    utc,
)
from bot.vetting import Evidence, NotIt, Status

__all__ = ["CANDIDATE_CHECK", "CANDIDATE_EVIDENCE", "CANDIDATE_MARK", "CANDIDATE_REJECT", "CANDIDATE_VOTES",
           "DIGEST_SHOWN", "REJECT_VIEW", "candidate_detail", "candidate_detections", "candidate_digest",
           "candidate_line", "candidate_moved", "candidate_stream_ended", "candidates_message", "days_after",
           "evidence_lines", "parse_check_value", "reject_modal", "scanning_summary", "status_words", "vote_said"]


CANDIDATE_CHECK = "check_broker_candidate"


CANDIDATE_MARK = "mark_broker_candidate"


#: the verdict buttons: Interesting and Follow up record at once; Not it asks why (a modal)
CANDIDATE_VOTES = {Status.INTERESTING: "vet_candidate_interesting", Status.FOLLOW_UP: "vet_candidate_follow_up"}
CANDIDATE_REJECT = "vet_candidate_rejected"
CANDIDATE_EVIDENCE = "candidate_evidence"
REJECT_VIEW = "candidate_not_it"


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


def status_words(line: CandidateLine) -> str | None:
    """'Not it (asteroid), <@U1> 12:00 UTC'; None when nobody has vetted it."""
    if line.status is Status.NEW:
        return None
    why = f" ({escape(line.status_reason)})" if line.status_reason else ""
    who = f", <@{escape(line.status_by)}>" if line.status_by else ""
    return f"*{line.status.words}*{why}{who}{f' {utc(line.status_at)}' if line.status_at else ''}"


def candidate_line(line: CandidateLine) -> str:
    """'<url|ZTF26aab> (fink) · KN +4.0 · CL 0.42 · 5.2 h after merger · r 19.8 · host 120 Mpc: distance
    consistent · *Interesting*, @someone'."""
    parts = [f"*{link(line.url, line.object_id)}* ({escape(line.broker)})"]
    if line.kn_score is not None:
        parts.append(f"KN {line.kn_score:+.1f}")
    parts += [f"CL {line.credible_level:.2f}", days_after(line.days_after_merger)]
    if line.mag is not None:
        parts.append(f"{escape(line.band or '?')} {line.mag:.1f} mag")
    distance = _distance_verdict(line)
    if distance:
        parts.append(distance)
    if not line.inside:
        parts.append("_outside the region of the newest map_")
    status = status_words(line)
    if status:
        parts.append(status)
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


def evidence_lines(ev: Evidence) -> list[str]:
    """The light curve in words: rates per band with their uncertainty, colour, age, counts, host distance."""
    lc = ev.lightcurve
    out = []
    for r in lc.rates:
        out.append(f"{escape(r.band)}: {'fades' if r.slope > 0 else 'rises'} {abs(r.slope):.2f} ± {r.err:.2f} mag/day "
                   f"({r.n} detections over {r.span_days * 24:.1f} h)")
    if lc.colour is not None:
        c = lc.colour
        change = f", changing {lc.reddening:+.2f} mag/day" if lc.reddening is not None else ""
        out.append(f"g−r {c.value:+.2f} ± {c.err:.2f}{change}")
    if lc.hours_after_merger is not None:
        out.append(f"first detection {lc.hours_after_merger:.1f} h after the merger"
                   + (f"; {lc.before_merger} before it" if lc.before_merger else ""))
    out.append(f"{lc.detections} detection{'s' if lc.detections != 1 else ''}, {lc.limits} non-detection"
               f"{'s' if lc.limits != 1 else ''}")
    if ev.host_distance_mpc is not None:
        consistent = "unknown" if ev.distance_cl is None else \
            "consistent" if ev.distance_cl <= 0.9 else "in tension" if ev.distance_cl <= 0.997 else "inconsistent"
        out.append(f"host {ev.host_distance_mpc:.0f} Mpc: {consistent} with the map's distance"
                   + (f" (CL {ev.distance_cl:.2f})" if ev.distance_cl is not None else ""))
    return out


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict:
    button = {"type": "button", "action_id": action_id, "value": value[:2000],
              "text": {"type": "plain_text", "text": text}}
    if style:
        button["style"] = style
    return button


def candidate_detail(line: CandidateLine, reasons: list[str], ev: Evidence | None = None) -> tuple[str, Blocks]:
    """One candidate in the digest's thread: where it is, its light curve in words, its kilonova score with the
    reasons, the brokers' own scores as given, the team's verdict, and the buttons to give one."""
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
    blocks: Blocks = [section(f"*{link(line.url, line.object_id)}* ({escape(line.broker)}): "
                              f"{escape(', '.join(reasons))}"), fields_section(facts)]
    if ev is not None:
        blocks.append(section(clip("*Light curve*\n" + "\n".join(escape(x) for x in evidence_lines(ev)), 3000)))
        said = [f"{r.points:+.1f} {escape(r.words)}" for r in ev.score.reasons if r.points]
        blocks.append(section(clip(f"*Kilonova score {ev.score.points:+.1f}*"
                                   + (": " + "; ".join(said) if said else ": no evidence either way yet"), 3000)))
        given = [f"{escape(broker)} {escape(name)} {value:.2f}" for broker, scores in sorted(ev.broker_scores.items())
                 for name, value in sorted(scores.items())]
        if given:
            blocks.append(context(clip("Brokers' own scores, as given: " + ", ".join(given), 3000)))
    status = status_words(line)
    blocks.append(context(f"Team verdict: {status}" if status else "Team verdict: not vetted yet"))
    value = str(line.candidate_id or "")
    blocks.append({"type": "actions", "elements": [
        _button("Interesting", CANDIDATE_VOTES[Status.INTERESTING], value, "primary"),
        _button("Not it", CANDIDATE_REJECT, f"{value}|{line.object_id}", "danger"),
        _button("Follow up", CANDIDATE_VOTES[Status.FOLLOW_UP], value),
        _button("Light curve", CANDIDATE_EVIDENCE, value),
        _button("Mark for report", CANDIDATE_MARK, "|".join((line.event_id, line.broker, line.object_id)))]})
    return escape(text), blocks


def vote_said(line: CandidateLine) -> str:
    """The thread's note of a verdict: 'ZTF26aab: Not it (asteroid), by <@U1>'."""
    why = f" ({escape(line.status_reason)})" if line.status_reason else ""
    return f"{escape(line.object_id)}: *{line.status.words}*{why}, by <@{escape(line.status_by or '?')}>"


def reject_modal(candidate_id: int, object_id: str, channel: str | None, thread: str | None) -> dict:
    """Not it: why (a reason, and words for 'other')."""
    options = [{"text": {"type": "plain_text", "text": r.value}, "value": r.value} for r in NotIt]
    return {"type": "modal", "callback_id": REJECT_VIEW, "title": {"type": "plain_text", "text": "Not it"},
            "submit": {"type": "plain_text", "text": "Record"},
            "private_metadata": "|".join((str(candidate_id), channel or "", thread or ""))[:3000],
            "blocks": [section(f"Why is {escape(object_id)} not the counterpart?"),
                       {"type": "input", "block_id": "reason", "label": {"type": "plain_text", "text": "Reason"},
                        "element": {"type": "static_select", "action_id": "value", "options": options}},
                       {"type": "input", "block_id": "note", "optional": True,
                        "label": {"type": "plain_text", "text": "In words (for other)"},
                        "element": {"type": "plain_text_input", "action_id": "value", "max_length": 200}}]}


def candidate_detections(updates: list[tuple[CandidateLine, list[tuple[float, str | None, float | None]]]]) \
        -> tuple[str, Blocks]:
    """Later detections of posted candidates, one post per digest thread: per object, (MJD, band, magnitude)."""
    rows = []
    for line, detections in updates:
        seen = ", ".join(f"MJD {mjd:.4f} {escape(band or '?')}"
                         f"{f' {mag:.2f}' if mag is not None else ''}" for mjd, band, mag in sorted(detections)[-5:])
        status = status_words(line)
        rows.append(f"• *{link(line.url, line.object_id)}*: {len(detections)} new ({seen})"
                    + (f" · team: {status}" if status else ""))
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


def scanning_summary(scan: Scan) -> tuple[str, Blocks]:
    """``/gw candidates S... --summary``: one message: counts, who vetted, the interesting ones with evidence."""
    title = f"{scan.event_id} scanning: {scan.total} candidate{'s' if scan.total != 1 else ''}, {scan.vetted} vetted"
    states = ", ".join(f"{Status(k).words} {n}" for k, n in sorted(scan.by_status.items()))
    who = ", ".join(f"<@{escape(u)}> {n}" for u, n in sorted(scan.by_user.items(), key=lambda x: -x[1]))
    blocks: Blocks = [header(title), section(f"{escape(states) or 'none yet'}"
                                             + (f"\nVotes by {who}" if who else "\nNobody has voted yet."))]
    for line, ev in scan.chosen[:15]:
        words = "; ".join(escape(x) for x in evidence_lines(ev)[:3])
        blocks.append(section(clip(f"{candidate_line(line)}\n{words}", 3000)))
    if len(scan.chosen) > 15:
        blocks.append(context(f"and {len(scan.chosen) - 15} more: `/gw candidates {scan.event_id} --status "
                              "interesting`"))
    if not scan.chosen:
        blocks.append(context("No candidate is marked Interesting or Follow up yet."))
    return title, limit_blocks(blocks)
