"""Tenants kept apart and hostile callers refused: auth, tenancy, row security, limits, cost, budget, fuzzing."""
