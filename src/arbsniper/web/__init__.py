"""The dashboard (SPEC §7): a Starlette app serving the page, its WebSocket, socket.io and the API.

``app`` builds and serves it (embedded in ``arbsniper run`` or standalone as ``arbsniper
dashboard``); ``hub`` batches signals and market state for browsers; ``status`` answers
``/health`` and ``/metrics``; ``redis_source`` reads a distributed deployment's signals.
"""
