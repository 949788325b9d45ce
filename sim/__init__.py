"""learncomm's simulation, in layers that import downwards only (docs/architecture.md):

schema (scenario and sweep files) <- engine (the Mesa model and the learners' day) <- runs
(one run, its outcomes and folder, comparisons) <- sweeps <- cli and dashboard. The learner
arrays (learncomm.agents) sit between schema and engine, the AI roles (learncomm.roles)
between engine and runs.
"""
