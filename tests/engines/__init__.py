"""How answers are made: compiled plans, row writers, loaders, statement counts, pipeline-owned and Citus databases."""
