"""The `healthcare` command: serve, develop, migrate, export schemas, make admins."""
