"""Sweeps: plans and designs, the resumable store, workers on a process pool or Dask, sensitivity analysis."""
