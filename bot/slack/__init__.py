"""Deliver to Slack, and take commands from it: typed outbox actions and the outbox that sends them (the one
write path to Slack), the Web API and dry-run targets, every Block Kit builder, the Bolt listeners and the HTTP
server for HTTP mode."""
