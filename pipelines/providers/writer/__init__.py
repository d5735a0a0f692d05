"""The writer slot: Groq and the offline template writer."""
