"""One run and what it leaves: outcomes, the run folder, replay, paired comparisons and their report."""
