"""Spot interruptions as AWS delivers them: instance metadata, EventBridge events, FIS."""
