"""The plan domain's own error: a request that cannot be planned as asked (a user's mistake, said in words).
Anything else raised while planning is a bug and is reported as one."""

from __future__ import annotations

__all__ = ["PlanError"]


class PlanError(ValueError):
    """Unknown facility, instrument or filter; no sky map to plan on; no galaxy catalogue configured."""
