"""The AI helper roles: a LangGraph graph per decision, deciders (policy, chat model, replay), and one module per role."""
