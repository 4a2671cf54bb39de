"""Counterpart candidates: broker alerts cross-matched against every active event's latest map, kept per event,
and posted as digests. ``worker`` reads top to bottom: consume, peek, match, detail, judge, store, commit, digest."""
