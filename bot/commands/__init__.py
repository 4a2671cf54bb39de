"""What people ask with ``/gw``: parsing (pure), answers computed from the store and the sky-map core as plain
results, the counterpart check shared with ``gwbot check``, and the text/CSV formatter."""
