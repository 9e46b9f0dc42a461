"""The session side's HTTP: REST book snapshots and handshakes (KuCoin's token), over aiohttp.

Venue modules never do I/O: they describe a request (``RestRequest``, or a snapshot path) and
parse the body they are given. ``VenueSession`` sends those requests through this module, one
``aiohttp.ClientSession`` per venue session, opened on first use.
"""

from __future__ import annotations

import aiohttp

from arbsniper.venues.metadata import RestRequest

TIMEOUT_S = 10.0


class RestError(OSError):
    """A request the venue answered with something other than 200 (the message names the status)."""


def client(timeout_s: float = TIMEOUT_S) -> aiohttp.ClientSession:
    """An HTTP client for one venue session (close it with ``await client.close()``)."""
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s))


async def fetch(http: aiohttp.ClientSession, request: RestRequest) -> bytes:
    """Send one request; the body of a 200 answer, else ``RestError``."""
    headers = {"Content-Type": "application/json"} if request.body is not None else None
    async with http.request(request.method, request.url, data=request.body, headers=headers) as resp:
        body = await resp.read()
        if resp.status != 200:
            raise RestError(f"{request.method} {request.url}: HTTP {resp.status}: {body[:200]!r}")
        return body


__all__ = ["RestError", "RestRequest", "client", "fetch"]
