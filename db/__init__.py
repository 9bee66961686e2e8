"""Storage access: tables, engine, tenant-scoped queries and demo data."""
