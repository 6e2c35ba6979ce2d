"""The audit trail of prescription changes."""
