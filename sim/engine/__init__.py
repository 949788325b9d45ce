"""The engine: the Mesa model, its world and network, the learners' day and its phases,
levers, metrics, random streams."""
