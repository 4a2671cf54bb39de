"""The durable outbox: what the bot asks of Slack, Treasure Map and HERMES is kept in the store until the service
has it, sent in order per lane, retried through outages and restarts, and never sent twice.

:mod:`~bot.delivery.actions` are the typed requests, :mod:`~bot.delivery.outbox` keeps and sends them through a
sender per kind (Slack's in :mod:`bot.slack.sender`, Treasure Map's in :mod:`bot.coordination.sharing`, HERMES's
in :mod:`bot.coordination.hermes_report`), and :mod:`~bot.delivery.errors` is how a sender says what happened.
"""
