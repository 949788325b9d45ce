"""The AI helper roles: a LangGraph graph per decision, deciders (policy, chat model, replay), a module per role."""
