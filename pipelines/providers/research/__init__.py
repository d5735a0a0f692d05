"""The research slot: the channel's source documents, Wikipedia and a web search API."""
