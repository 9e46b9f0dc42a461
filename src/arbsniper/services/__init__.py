"""The distributed deployment's roles, one module each: ``arbsniper ingest`` and ``arbsniper engine``.

    sources ──► IngestService ──ZeroMQ XPUB──► EngineService (shard K/N) ──► Redis
    (connectors,   (publish: non-blocking,        (SUB: its instruments only;      (channel, history,
     synthetic)     conflating backlog)            state → detector → lifecycle)    stream)

- ``ingest``: ``IngestService``, market sources published on ZeroMQ;
- ``engine``: ``EngineService``, one shard of the instruments (``Ownership``, ``parse_shard``) from
  ZeroMQ through the same ``Engine`` as the embedded app, every signal to Redis.

Each runs one asyncio loop under ``runtime.run_until_stopped`` and serves ``/health`` and
``/metrics`` (``httpd.ops_app``, names from ``metrics``). The dashboard and the trader, which read
Redis, live with their code: ``web.app.Dashboard``, ``trading.service.TraderService``.
"""
