"""Store and act on what arrived: the database (events, handled messages, sky-map versions, the outbox, plans),
the alert pipeline that records each message and queues its Slack deliveries, routing rules, and each event's
prepared maps and headline facts."""
