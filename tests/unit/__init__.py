"""Pure rules, one module at a time: names and durations, the bounded LRU, settings."""
