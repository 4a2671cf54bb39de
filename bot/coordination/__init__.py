"""Working with the rest of the follow-up community: pointings shared with and read from Treasure Map,
reports published through HERMES."""
