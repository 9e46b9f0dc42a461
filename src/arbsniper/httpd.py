"""HTTP serving for every role: uvicorn inside the role's own event loop, on a socket bound up front.

One server type (``HttpServer``) serves the dashboard (``web.app``) and the ``/health`` +
``/metrics`` endpoints of the services (``ops_app``). It binds when constructed, so a busy port or
a bad address fails at start rather than after data began to flow; it never captures SIGINT or
SIGTERM (``runtime.run_until_stopped`` owns them) and runs no threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import msgspec
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest


def parse_hostport(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (or ``:PORT``, host 127.0.0.1) to a tuple; a clear error otherwise."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    return (host.strip("[]") or "127.0.0.1"), int(port)


def listen_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket bound now (``port`` 0 = any free one), so a busy port fails at start."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family)


def in_loop_server(app: Any, **config: Any) -> Any:
    """A ``uvicorn.Server`` for ``app`` that runs inside the caller's event loop and leaves
    SIGINT/SIGTERM to the process's own shutdown (serve it with ``serve(sockets=[sock])``)."""
    import uvicorn

    class _Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return _Server(uvicorn.Config(app, access_log=False, lifespan="off", **config))


class HttpServer:
    """uvicorn serving an ASGI app in the caller's loop on a socket bound at construction.

    ``port=0`` picks a free port; ``port`` holds the bound one. Raises ``OSError`` when the
    address cannot be bound. ``uvicorn`` settings (``log_config``, ``timeout_graceful_shutdown`` …)
    pass through.
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, **uvicorn_config: Any) -> None:
        self.sock = listen_socket(host, port)
        self.host = host
        self.port = int(self.sock.getsockname()[1])
        uvicorn_config.setdefault("log_level", "warning")
        uvicorn_config.setdefault("log_config", None)  # its few lines go through our own handler and format
        self._server = in_loop_server(app, **uvicorn_config)
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    async def start(self) -> None:
        """Serve in a task of the running loop; returns once the server accepts connections."""
        self._task = asyncio.create_task(self._server.serve(sockets=[self.sock]), name=f"http:{self.port}")
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises what stopped it
                raise RuntimeError("HTTP server stopped during start-up")
            await asyncio.sleep(0.01)

    async def stop(self, timeout_s: float = 3.0) -> None:
        """Stop serving (open connections get uvicorn's graceful time-out), then free the port."""
        self._server.should_exit = True
        if self._task is not None:
            try:
                async with asyncio.timeout(timeout_s):
                    await self._task
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            except Exception:  # noqa: BLE001 - already stopping; what it died of was logged by uvicorn
                pass
        self.sock.close()


_json = msgspec.json.Encoder()


def ops_routes(health: Callable[[], Mapping[str, Any]], registry: CollectorRegistry) -> list[Any]:
    """Starlette routes ``GET /health`` (JSON) and ``GET /metrics`` (Prometheus text), for any role."""
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def health_endpoint(request: Request) -> Response:
        return Response(_json.encode(health()), media_type="application/json")

    async def metrics_endpoint(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_PLAIN_0_0_4)  # the text format generate_latest writes

    return [Route("/health", health_endpoint), Route("/metrics", metrics_endpoint)]


def ops_app(health: Callable[[], Mapping[str, Any]], registry: CollectorRegistry) -> Any:
    """A Starlette app serving only ``/health`` and ``/metrics`` (a role without a web app of its own)."""
    from starlette.applications import Starlette

    return Starlette(routes=ops_routes(health, registry))
