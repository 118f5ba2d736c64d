"""Our own Lambda runtime: the Runtime API loop, streaming responses, the event bridge.

Python's managed runtime cannot stream responses, so the exec wrapper
(`exec-wrapper`, set as AWS_LAMBDA_EXEC_WRAPPER) replaces its bootstrap with
`python -m handler.lambda_runtime`, which serves the aiohttp app through the
Runtime API itself.
"""
