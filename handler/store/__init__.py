"""All SQL of the service, one module per table, returning rows or the API's JSON shapes.

Every query that touches a user's data names the user in its WHERE clause, so
another user's resource is indistinguishable from a missing one. Nothing here
knows about HTTP.
"""
