"""The model check: stylised facts of real communities, checked on simulated runs and computed from event logs.

`log.py` reads an event log (or a run) into an `Activity`; `figures.py` computes the figures of an `Activity`
(one code path for logs and runs); `facts.py` lists the facts as data; `suite.py` runs them over seeds."""
