"""DebugFlow backend: one aiohttp application, run locally or on AWS Lambda."""
