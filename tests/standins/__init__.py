"""Real HTTP servers on loopback that stand in for Google, HuggingFace and Pinecone."""
