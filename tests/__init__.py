"""The suite, one folder per area; the shared fixtures and data stay here at the top.

- ``unit``: pure rules, one module at a time (names and durations, the bounded LRU, settings).
- ``api``: what a client gets over HTTP: the list, the detail page, the report, paging, operations,
  persisted queries, errors, the schema's SDL and GraphiQL's page; and over WebSocket, live subscriptions.
- ``security``: tenants apart and hostile callers refused: tokens, tenancy, row-level security, the
  tenant canary, privacy, the query limits and cost, the request budget, fuzzing, replayed attacks,
  live connections refused, closed and bounded.
- ``engines``: how answers are made: compiled plans against the executor, row writers, loaders and
  statement counts, a pipeline-owned database, Citus shard routing and migration.
- ``ops``: the gateway as it is installed and run: the CLI, the demo, the metrics port, logs, metrics and
  traces, faults between the gateway and PostgreSQL, the wheel, GraphiQL in Chromium, the import layers.
- ``docs``: every code block of the README and ``docs/`` run as written.

Shared here: ``conftest.py`` (apps, clients, databases, the markers below), ``helpers.py`` (tokens and
requests), ``live.py`` (a served gateway, WebSocket clients and the pipeline's writes for live
subscriptions), ``dataset.py`` and ``factories.py`` (the data), ``oracle.py`` (expected answers in plain
Python), ``corpus.py`` (the queries both execution paths must answer alike), ``faultproxy.py``,
``readme.py`` and ``routing.py``.

Markers (``[tool.pytest.ini_options]``), set by ``conftest.py`` so a slice runs with ``-m``:
``postgres`` on every test that runs on PostgreSQL, ``browser`` on the tests that drive Chromium, and
``slow`` on the modules that start processes or servers or build wheels. ``pytest -m "not slow"`` runs
everything in process; ``pytest -m postgres`` runs what PostgreSQL adds (it needs
``GATEWAY_TEST_POSTGRES_URL``).
"""
