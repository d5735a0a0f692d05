"""The bad-input corpus: every way input enters (topics, channel YAMLs, source documents, review edits,
media), each case with the input, where it enters and what must happen: an error that says what to fix, or
a safe result."""
