"""SQL for each resource, returning rows shaped as the contract's JSON.

Every query that touches a user's data names the user in its WHERE clause, so
another user's resource is indistinguishable from a missing one.
"""
