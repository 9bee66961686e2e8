"""The gateway as installed and run: CLI, demo, metrics, logs, traces, faults, the wheel, Chromium, import layers."""
