"""The agent loop: plan, act, observe, reflect."""
