"""Learner-side agents: learner state arrays, the Mesa Learner view, experts."""
