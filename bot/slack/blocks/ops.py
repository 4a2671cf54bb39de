"""What the people running the bot are told: /gw status, errors and alarms in the ops channel."""

from __future__ import annotations

from bot.commands.records import StatusReport
from bot.slack.blocks.kit import Blocks, ago, clip, context, escape, section

__all__ = ["ops_alarm", "ops_error", "status_message"]


def ops_error(topic: str, partition: int | None, offset: int | None, reason: str) -> tuple[str, Blocks]:
    where = escape(f"{topic} [{partition}] @ {offset}")
    text = f"Could not understand a message on {where}: {escape(reason)}"
    return text, [section(f":warning: *Could not understand a message* on `{where}`\n{clip(escape(reason), 2500)}"),
                  context("It was logged and skipped; the stream goes on.")]


def ops_alarm(what: str, detail: str) -> tuple[str, Blocks]:
    """Something the people running the bot must know (and usually act on)."""
    return f"gwbot: {escape(what)}", [section(f":rotating_light: *{escape(what)}*\n{clip(escape(detail), 2800)}")]


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
            lines.append(f"• `{escape(t.topic)}`: last message {ago(t.age_s)}, {t.rate:.1f} alerts/s{lag}")
        else:
            lines.append(f"• `{escape(t.topic)}`: last message {ago(t.age_s)} (offset {t.offset}){silent}")
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
    lines.append(f"*Uptime*: {ago(report.uptime_s)[:-4]} · gwbot {report.version}")
    return "gwbot status", [section("\n".join(lines))]
