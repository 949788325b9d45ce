"""The engine: scenarios, the Mesa model, the vectorised day, metrics, runs, the CLI."""
