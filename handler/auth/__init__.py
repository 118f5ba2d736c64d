"""Firebase ID-token authentication and the user it signs in."""
