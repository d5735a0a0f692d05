"""The TTS slot: espeak-ng (offline default), Piper and Azure Speech."""
