"""`learncomm calibrate`: fit a scenario's parameters to a community's event log (docs/calibration.md)."""
