"""A stand-in for the DebugFlow front end, and the processes the browser test runs."""
