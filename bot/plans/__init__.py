"""Observation plans, in: facilities as data, the planner, building a plan, its life (propose, approve, submit
once, follow, supersede), the ``Submitter`` interface to a robotic facility's portal (LCO first), and the
scheduled follow-up."""
