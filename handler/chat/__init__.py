"""POST /api/chat: context assembly, model streaming, retrieval and persistence."""
