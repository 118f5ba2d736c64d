"""PostgreSQL access: the lazy pool, migrations and the embedded dev server."""
