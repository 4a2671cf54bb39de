"""Shared stand-ins for the services gwbot talks to, used by the unit and end-to-end tests. Each module names,
in its docstring, the source of every rule it enforces: ``slack_server`` (Slack's Web API reference pages at
https://api.slack.com/methods and ../shared/notes/real-contracts.md), ``lco_server``
(observatorycontrolsystem/observation-portal @ 31c2ddd, AEONplus/AEONlib @ ea8581a), ``target`` (gwbot's own
SlackTarget protocol, with Slack's documented failure modes)."""
