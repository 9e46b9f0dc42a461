"""What the Redis publisher and readers share: fail-fast clients, the retryable errors, back-off.

Every client is made by ``connect``, which turns redis-py's own retries off: each caller decides
when to retry (the publisher keeps buffering, the readers wait with back-off), so nothing blocks
for longer than ``timeout_ms`` behind its back.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from typing import cast

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ClusterDownError, TryAgainError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from arbsniper.config import redact_password

# Errors after which the same command may succeed later: Redis down, restarting, loading, slow, a
# cluster failing over.
RETRYABLE = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError, asyncio.TimeoutError,
             ClusterDownError, TryAgainError)

BACKOFF_MIN_S = 0.05
BACKOFF_MAX_S = 1.0


def redact_url(url: str) -> str:
    """The URL without its password, for logs and ``/health``."""
    return redact_password(url)


def connect(url: str, timeout_ms: int, cluster: bool = False) -> aioredis.Redis:
    """A client that fails fast (no hidden retries): our callers decide when to retry.

    With ``cluster`` the URL names one node of a Redis Cluster and the client is redis-py's
    ``RedisCluster``, which finds the others and follows the slot map; every key we use carries
    the ``{signals}`` hash tag, so each command and script lands on one node as it would on a
    single Redis. (It has the commands we use; the type says ``Redis`` for the callers' sake.)
    """
    t = timeout_ms / 1000.0
    if cluster:
        return cast(aioredis.Redis, RedisCluster.from_url(
            url, socket_timeout=t, socket_connect_timeout=t, retry=Retry(NoBackoff(), 0), health_check_interval=0,
        ))
    return aioredis.Redis.from_url(
        url, socket_timeout=t, socket_connect_timeout=t, retry=Retry(NoBackoff(), 0),
        retry_on_timeout=False, health_check_interval=0,
    )


def cancel_requested() -> bool:
    """Whether the running task was asked to stop. redis-py can swallow a cancellation that lands
    mid-command (the command then just returns), so every loop that retries checks this."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def default_instance(name: str = "arbsniper") -> str:
    """A name unique to this process: ``<name>-<host>-<pid>-<random>``."""
    return f"{name}-{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
