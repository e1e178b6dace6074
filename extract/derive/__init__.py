"""Spans derived from a deployment's own record (its task and step transitions) after a run."""
