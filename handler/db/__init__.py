"""PostgreSQL access: the lazy pool, login and TLS, migrations, the embedded dev server."""
