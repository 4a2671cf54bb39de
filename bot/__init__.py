"""gwbot: a Slack bot for multi-messenger follow-up of gravitational-wave alerts."""

__version__ = "0.3.0"
