"""The publish slot: the local outbox (offline default)."""
