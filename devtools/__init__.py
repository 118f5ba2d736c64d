"""Development tools: run from the repository, never shipped in the Lambda package."""
