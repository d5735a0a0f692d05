"""The analytics slot: how a channel's published videos do (YouTube Analytics API v2); no offline default."""
