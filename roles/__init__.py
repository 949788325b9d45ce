"""AI role agents (ideator, secretary, benchmarker, ...). Arrives with the roles issue."""
