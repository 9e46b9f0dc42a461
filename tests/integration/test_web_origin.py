"""The tokenless loopback dashboard answers only loopback Host names and same-origin WebSocket /
socket.io connections (issue 12, defect 12): a page the user visits cannot read the live feed,
and DNS rebinding (``Host: evil.example``) gets 403. Real uvicorn, real aiohttp clients.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from arbsniper.app import App
from arbsniper.config import Config, WebConfig
from arbsniper.instruments import SymbolMap
from tests.integration.test_web_api import ScriptedSource


async def _start(tmp_path: Path, web: WebConfig | None = None) -> tuple[App, str, asyncio.Task[int]]:
    app = App(Config(data_dir=str(tmp_path), web=web or WebConfig()), [ScriptedSource()], SymbolMap(), human_out=None)
    url = app.add_dashboard("127.0.0.1", 0, None)
    return app, url, asyncio.create_task(app.run())


@pytest.fixture
async def dashboard(tmp_path: Path) -> AsyncIterator[str]:
    app, url, task = await _start(tmp_path)
    try:
        yield url
    finally:
        app.stop()
        assert await asyncio.wait_for(task, 15) == 0


async def _status(http: aiohttp.ClientSession, url: str, **headers: str) -> int:
    async with http.get(url, headers=headers) as resp:
        return resp.status


async def test_loopback_host_names_are_answered_and_others_refused(dashboard: str) -> None:
    port = dashboard.rstrip("/").rsplit(":", 1)[1]
    async with aiohttp.ClientSession() as http:
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", f"[::1]:{port}", f"LOCALHOST:{port}"):
            assert await _status(http, dashboard + "api/opportunities", Host=host) == 200, host
        for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example", ""):
            assert await _status(http, dashboard + "api/opportunities", Host=host) == 403, host
        assert await _status(http, dashboard, Host="evil.example") == 403
        assert await _status(http, dashboard + "health", Host="rebind.attacker.test") == 403


async def test_websocket_and_socketio_only_from_the_dashboards_own_origin(dashboard: str) -> None:
    ws_url = dashboard.replace("http", "ws") + "ws"
    own = dashboard.rstrip("/")
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(ws_url, headers={"Origin": own}) as ws:
            assert (await ws.receive_json(timeout=10))["type"] == "snapshot"
        async with http.ws_connect(ws_url) as ws:  # no Origin: not a browser
            assert (await ws.receive_json(timeout=10))["type"] == "snapshot"
        for origin in ("https://evil.example", "null", "http://localhost:1"):
            with pytest.raises(aiohttp.WSServerHandshakeError) as info:
                await http.ws_connect(ws_url, headers={"Origin": origin})
            assert info.value.status == 403, origin
        poll = dashboard + "socket.io/?EIO=4&transport=polling"
        assert await _status(http, poll, Origin="https://evil.example") == 403
        assert await _status(http, poll, Origin=own) == 200


async def test_allow_lists_admit_the_configured_host_and_origin(tmp_path: Path) -> None:
    web = WebConfig(allowed_hosts=["dash.internal"], allowed_origins=["https://dash.internal"])
    app, url, task = await _start(tmp_path, web)
    try:
        async with aiohttp.ClientSession() as http:
            assert await _status(http, url + "api/opportunities", Host="dash.internal") == 200
            assert await _status(http, url + "api/opportunities", Host="other.internal") == 403
            async with http.ws_connect(url.replace("http", "ws") + "ws", headers={"Origin": "https://dash.internal"}) as ws:
                assert (await ws.receive_json(timeout=10))["type"] == "snapshot"
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await http.ws_connect(url.replace("http", "ws") + "ws", headers={"Origin": "https://other.internal"})
    finally:
        app.stop()
        assert await asyncio.wait_for(task, 15) == 0
