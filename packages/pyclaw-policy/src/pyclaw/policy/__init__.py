"""Policy engine: approvals and time-bounded grants for risky tools."""
