"""Closing a campaign: the team's GCN Circular drafted from what the bot holds (completed observations, the map
they covered, the candidates the team found interesting), edited in Slack, and sent through HERMES."""
