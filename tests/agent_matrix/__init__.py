"""The agent matrix (`scripts/agents`): real coding agents against the proxy and the fake Command Code server."""
