"""How answers are made: field rules, compiled plans, row writers, loaders, statement counts, other databases.

The other databases: one the pipeline owns (made from the storage contract alone) and Citus.
"""
