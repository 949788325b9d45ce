"""Scenario and sweep files: their pydantic schemas and the YAML reader that reports file:line errors."""
