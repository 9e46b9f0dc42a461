"""Typed, frozen configuration: one TOML file plus ``ARBSNIPER_*`` environment overrides.

Everything is validated at start: an unknown key, a wrong type or an out-of-range value stops
start-up with a ``ConfigError`` naming the key. Secrets never live here; they come from the
environment where they are used and are never printed.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from arbsniper.instruments import InstrumentError, parse_instrument
from arbsniper.venues import REGISTRY

_T = TypeVar("_T")

ENV_PREFIX = "ARBSNIPER_"
ENV_CONFIG_PATH = "ARBSNIPER_CONFIG"
ENV_WEB_TOKEN = "ARBSNIPER_WEB_TOKEN"  # a secret: read where it is used, never part of the config
_ENV_NOT_CONFIG = frozenset({ENV_CONFIG_PATH, ENV_WEB_TOKEN})

VENUE_NAMES = tuple(REGISTRY)  # the venues' own modules list them (``venues.REGISTRY``)


class ConfigError(ValueError):
    """The configuration is invalid; the message names the offending key."""


class _Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


def _check(cond: bool, msg: str) -> None:
    if not cond:
        raise ValueError(msg)


class DetectorConfig(_Section, frozen=True):
    """Thresholds and costs of SPEC §5."""

    min_spread_bps: float = 10.0
    min_net_bps: float = 0.0
    min_confidence: float = 0.0
    min_funding_delta: float | None = None  # fraction per 8 h; only checked where set
    max_quote_age_ms: int = 5000
    slippage_bps: float = 3.0  # used only where no L2 depth is known for both legs
    max_notional: float = 10_000.0  # in the buy leg's quote currency
    holding_hours: float = 8.0  # horizon over which funding is expected to accrue
    max_sane_spread_bps: float = 500.0  # beyond this a spread is suspect, never tradable
    update_min_bps: float = 2.0  # an open opportunity is re-announced when net moves this much
    update_min_size_pct: float = 25.0  # ... or when its size moves by this percentage
    deny: list[str] = []  # unified instruments never signalled

    def __post_init__(self) -> None:
        _check(self.min_spread_bps >= 0, "min_spread_bps must be >= 0")
        _check(self.max_quote_age_ms > 0, "max_quote_age_ms must be > 0")
        _check(self.slippage_bps >= 0, "slippage_bps must be >= 0")
        _check(self.max_notional > 0, "max_notional must be > 0")
        _check(self.holding_hours >= 0, "holding_hours must be >= 0")
        _check(0 <= self.min_confidence <= 100, "min_confidence must be within 0..100")
        _check(self.max_sane_spread_bps > self.min_spread_bps, "max_sane_spread_bps must exceed min_spread_bps")
        _check(self.update_min_bps >= 0 and self.update_min_size_pct >= 0, "update thresholds must be >= 0")
        for name in self.deny:
            try:
                parse_instrument(name)
            except InstrumentError as exc:
                raise ValueError(f"deny: {exc}") from None


class ConversionConfig(_Section, frozen=True):
    """How quote currencies convert to the reference currency, from live markets."""

    reference: str = "USD"
    # currency -> instrument whose mid prices it in the reference or in another listed currency
    sources: dict[str, str] = msgspec.field(default_factory=lambda: {"USDT": "USDT/USD", "USDC": "USDC/USDT"})
    max_depeg_bps: float = 100.0  # a rate further than this from 1 stops cross-currency signals
    max_rate_age_ms: int = 30_000

    def __post_init__(self) -> None:
        _check(self.max_depeg_bps > 0, "max_depeg_bps must be > 0")
        _check(self.max_rate_age_ms > 0, "max_rate_age_ms must be > 0")
        for ccy, inst in self.sources.items():
            try:
                parsed = parse_instrument(inst)
            except InstrumentError as exc:
                raise ValueError(f"sources.{ccy}: {exc}") from None
            _check(parsed.base == ccy and not parsed.is_perp, f"sources.{ccy}: {inst} must be the spot market {ccy}/…")


class LimitsConfig(_Section, frozen=True):
    """What a venue accepts for one instrument: lot step, price tick, minimum order value."""

    lot_size: float = 0.0
    tick_size: float = 0.0
    min_notional: float = 0.0

    def __post_init__(self) -> None:
        _check(self.lot_size >= 0 and self.tick_size >= 0 and self.min_notional >= 0, "limits must be >= 0")


class VenueConfig(_Section, frozen=True):
    """Per-venue settings; anything unset takes the venue's defaults."""

    enabled: bool = True
    markets: list[str] | None = None  # "spot" / "perp"; None = every market the venue has
    instruments: list[str] | None = None  # unified names; None = the configured bases
    taker_fee_bps_spot: float | None = None
    taker_fee_bps_perp: float | None = None
    max_quote_age_ms: int | None = None
    base_url: str | None = None  # WebSocket base URL override (tests, demo, proxies)
    rest_url: str | None = None  # REST base URL override
    limits: dict[str, LimitsConfig] = {}

    def __post_init__(self) -> None:
        for m in self.markets or ():
            _check(m in ("spot", "perp"), f"markets: {m!r} is not 'spot' or 'perp'")
        for fee in (self.taker_fee_bps_spot, self.taker_fee_bps_perp):
            _check(fee is None or 0 <= fee < 1000, "taker fees must be within 0..1000 bps")
        _check(self.max_quote_age_ms is None or self.max_quote_age_ms > 0, "max_quote_age_ms must be > 0")
        for name in list(self.instruments or ()) + list(self.limits):
            try:
                parse_instrument(name)
            except InstrumentError as exc:
                raise ValueError(str(exc)) from None


class BusConfig(_Section, frozen=True):
    market_capacity: int = 4096  # distinct (instrument, venue, kind) keys pending before drops
    signal_capacity: int = 65_536  # per consumer

    def __post_init__(self) -> None:
        _check(self.market_capacity > 0 and self.signal_capacity > 0, "capacities must be > 0")


class HistoryConfig(_Section, frozen=True):
    enabled: bool = True
    batch: int = 500
    flush_ms: int = 200

    def __post_init__(self) -> None:
        _check(self.batch > 0 and self.flush_ms > 0, "batch and flush_ms must be > 0")


class DemoConfig(_Section, frozen=True):
    """The synthetic market of ``arbsniper run --demo``."""

    seed: int | None = None
    updates_per_s: float = 2000.0
    dislocation_every_s: float = 1.5  # mean time between injected genuine dislocations
    stale_every_s: float = 7.0  # mean time between a venue going quiet on an instrument
    crossed_every_s: float = 5.0  # mean time between injected crossed (invalid) quotes

    def __post_init__(self) -> None:
        _check(self.updates_per_s > 0, "updates_per_s must be > 0")
        for v in (self.dislocation_every_s, self.stale_every_s, self.crossed_every_s):
            _check(v > 0, "event intervals must be > 0")


DEFAULT_INVENTORY: dict[str, float] = {"USDT": 10_000.0, "USD": 10_000.0, "USDC": 10_000.0, "BTC": 0.1, "ETH": 3.0, "SOL": 50.0}


class TradingConfig(_Section, frozen=True):
    """The strategy runner and paper executor (SPEC §8); amounts are in each leg's quote currency."""

    enabled: bool = True  # `arbsniper run` trades on paper unless --no-trade
    latency_ms: float = 100.0  # paper: time from sending an order to its arrival at the venue
    venue_latency_ms: dict[str, float] = {}  # per-venue override of latency_ms
    min_net_bps: float = 0.0  # signals with a smaller net edge are not traded
    price_tolerance_bps: float = 5.0  # a leg's price may be this much worse than the signal's, or no trade
    max_signal_age_ms: int = 1000  # older signals are not traded
    min_trade_notional: float = 10.0  # a trade sized below this is refused
    max_trade_notional: float = 1_000.0  # a trade is sized down to this
    max_venue_notional: float = 5_000.0  # open exposure per venue (in-flight orders + open positions)
    max_open_positions: int = 5
    daily_loss_limit: float = 250.0  # in the reference currency; realized today + unrealized
    leg_risk: str = "unwind"  # a leg filled alone: "unwind" it where it filled, or "hedge" on the other venue
    perp_leverage: float = 1.0  # perp margin = notional / leverage, locked in the settle currency
    exit_basis_bps: float = 0.0  # perp positions close when the basis has converged to this
    holding_period_s: float = 8 * 3600.0  # ... and at the latest after this long
    mark_every_s: float = 1.0  # marking to market, funding accrual and exit checks
    # Starting inventory per venue and asset, seeded once into a new ledger; "default" applies to
    # every venue without its own entry.
    inventory: dict[str, dict[str, float]] = msgspec.field(default_factory=lambda: {"default": dict(DEFAULT_INVENTORY)})

    def __post_init__(self) -> None:
        _check(self.latency_ms >= 0 and all(v >= 0 for v in self.venue_latency_ms.values()), "latency_ms must be >= 0")
        _check(self.price_tolerance_bps >= 0, "price_tolerance_bps must be >= 0")
        _check(self.max_signal_age_ms > 0, "max_signal_age_ms must be > 0")
        _check(0 <= self.min_trade_notional <= self.max_trade_notional, "need 0 <= min_trade_notional <= max_trade_notional")
        _check(self.max_venue_notional > 0, "max_venue_notional must be > 0")
        _check(self.max_open_positions >= 0, "max_open_positions must be >= 0")
        _check(self.daily_loss_limit > 0, "daily_loss_limit must be > 0")
        _check(self.leg_risk in ("unwind", "hedge"), "leg_risk must be 'unwind' or 'hedge'")
        _check(self.perp_leverage >= 1, "perp_leverage must be >= 1")
        _check(self.holding_period_s > 0 and self.mark_every_s > 0, "holding_period_s and mark_every_s must be > 0")
        for name in list(self.venue_latency_ms) + [n for n in self.inventory if n != "default"]:
            _check(name in VENUE_NAMES, f"{name}: unknown venue (known: {', '.join(VENUE_NAMES)})")
        for venue, assets in self.inventory.items():
            _check(all(v >= 0 for v in assets.values()), f"inventory.{venue}: amounts must be >= 0")

    def latency_s(self, venue: str) -> float:
        return self.venue_latency_ms.get(venue, self.latency_ms) / 1000.0

    def starting_inventory(self, venue: str) -> dict[str, float]:
        return dict(self.inventory.get(venue, self.inventory.get("default", {})))


class WebConfig(_Section, frozen=True):
    """The dashboard server (SPEC §7): loopback by default; a wider bind needs a token."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 8000
    push_hz: float = 10.0  # most signal batches per second pushed to a browser
    state_hz: float = 5.0  # matrix, venue health, counters and chart points per second
    closed_keep: int = 200  # recently closed opportunities kept for the page
    chart_seconds: int = 120  # spread chart window

    def __post_init__(self) -> None:
        _check(0 <= self.port <= 65535, "port must be within 0..65535")
        _check(0 < self.push_hz <= 100 and 0 < self.state_hz <= 100, "push_hz and state_hz must be within (0, 100]")
        _check(self.closed_keep > 0 and self.chart_seconds > 0, "closed_keep and chart_seconds must be > 0")


class AlertsConfig(_Section, frozen=True):
    """Notifications on new opportunities (SPEC §10), sent through apprise URLs."""

    urls: list[str] = []  # apprise URLs: json://host/path, tgram://token/chat, discord://…, slack://…
    min_net_bps: float = 20.0  # alert only on opens at or above this net edge…
    min_profit: float = 0.0  # …and this profit, in the opportunity's quote currency
    max_per_minute: int = 6  # beyond this rate alerts are suppressed (and counted)
    timeout_s: float = 10.0  # per notification
    queue: int = 64  # alerts waiting to be sent; beyond it they are dropped (and counted)

    def __post_init__(self) -> None:
        _check(self.max_per_minute > 0 and self.queue > 0, "max_per_minute and queue must be > 0")
        _check(self.timeout_s > 0, "timeout_s must be > 0")
        for url in self.urls:
            _check("://" in url, f"urls: {redact_url(url)!r} is not an apprise URL (scheme://…)")


def redact_url(url: str) -> str:
    """An alert URL with everything after the scheme hidden: such URLs embed tokens."""
    scheme, sep, _ = url.partition("://")
    return f"{scheme}://…" if sep else "…"


class ZmqConfig(_Section, frozen=True):
    """ZeroMQ transport between ``arbsniper ingest`` and ``arbsniper engine`` (see bus/zmq.py).

    Ingest binds an XPUB socket on every ``bind`` endpoint; each engine connects a SUB socket to
    every ``connect`` endpoint (several ingest processes feed one engine) and subscribes only to
    its shard's topics, which the publisher filters before sending.
    """

    bind: list[str] = msgspec.field(default_factory=lambda: ["tcp://127.0.0.1:5555"])
    connect: list[str] = msgspec.field(default_factory=lambda: ["tcp://127.0.0.1:5555"])
    sndhwm: int = 1000  # messages queued per subscriber before the ingest conflates (newest wins)
    rcvhwm: int = 1000  # messages queued in the engine before the publisher sees back-pressure
    linger_ms: int = 200  # how long a closing ingest may still flush queued messages
    heartbeat_ivl_ms: int = 1000  # ZMTP heartbeats: a dead peer is noticed ...
    heartbeat_timeout_ms: int = 3000  # ... after this long, and its queue released
    reconnect_ivl_ms: int = 100  # engine reconnect back-off, first step ...
    reconnect_ivl_max_ms: int = 2000  # ... and cap
    batch: int = 1024  # messages the engine takes per wake-up before yielding to the loop

    def __post_init__(self) -> None:
        _check(bool(self.bind) and bool(self.connect), "bind and connect need at least one endpoint")
        for ep in self.bind + self.connect:
            _check(ep.partition("://")[0] in ("tcp", "ipc", "inproc"), f"endpoint {ep!r} must be tcp://, ipc:// or inproc://")
        _check(self.sndhwm > 0 and self.rcvhwm > 0, "sndhwm and rcvhwm must be > 0")
        _check(self.linger_ms >= 0, "linger_ms must be >= 0")
        _check(0 < self.heartbeat_ivl_ms < self.heartbeat_timeout_ms, "need 0 < heartbeat_ivl_ms < heartbeat_timeout_ms")
        _check(0 < self.reconnect_ivl_ms <= self.reconnect_ivl_max_ms, "need 0 < reconnect_ivl_ms <= reconnect_ivl_max_ms")
        _check(self.batch > 0, "batch must be > 0")


class RedisConfig(_Section, frozen=True):
    """Where signals go in the distributed deployment (and with ``arbsniper run --redis``)."""

    url: str = "redis://127.0.0.1:6379/0"
    prefix: str = ""  # prepended to every key and to the channel
    channel: str = "arbitrage:signals"  # PUBLISH <json> per signal
    history_key: str = "signals:history"  # sorted set, score = timestamp (ms)
    history_max: int = 1000  # newest kept in the sorted set
    stream_key: str = "signals:stream"  # XADD, read with consumer groups
    stream_maxlen: int = 100_000  # approximate cap (MAXLEN ~)
    buffer: int = 100_000  # signals held while Redis is down or slow; beyond it the oldest drop (counted)
    batch: int = 256  # signals per pipelined round trip
    timeout_ms: int = 1000  # connect and command timeout: slower counts as down
    dedupe_ttl_s: int = 600  # how long a signal's id guards against a double write on retry

    def __post_init__(self) -> None:
        _check(self.url.partition("://")[0] in ("redis", "rediss", "unix"), "url must be redis://, rediss:// or unix://")
        _check(self.history_max > 0 and self.stream_maxlen > 0, "history_max and stream_maxlen must be > 0")
        _check(self.buffer > 0 and self.batch > 0, "buffer and batch must be > 0")
        _check(self.timeout_ms > 0 and self.dedupe_ttl_s > 0, "timeout_ms and dedupe_ttl_s must be > 0")

    def key(self, name: str) -> str:
        """A key or channel name with the configured prefix."""
        return self.prefix + name


def default_data_dir() -> str:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "arbsniper")


class Config(_Section, frozen=True):
    """The whole resolved configuration."""

    data_dir: str = msgspec.field(default_factory=default_data_dir)
    bases: list[str] = msgspec.field(default_factory=lambda: ["BTC", "ETH", "SOL"])
    log_level: str = "INFO"
    detector: DetectorConfig = DetectorConfig()
    conversion: ConversionConfig = ConversionConfig()
    venues: dict[str, VenueConfig] = {}
    bus: BusConfig = BusConfig()
    history: HistoryConfig = HistoryConfig()
    demo: DemoConfig = DemoConfig()
    trading: TradingConfig = TradingConfig()
    web: WebConfig = WebConfig()
    alerts: AlertsConfig = AlertsConfig()
    zmq: ZmqConfig = ZmqConfig()
    redis: RedisConfig = RedisConfig()

    def __post_init__(self) -> None:
        _check(self.log_level.upper() in ("DEBUG", "INFO", "WARNING", "ERROR"), "log_level must be DEBUG/INFO/WARNING/ERROR")
        for name in self.venues:
            _check(name in VENUE_NAMES, f"venues.{name}: unknown venue (known: {', '.join(VENUE_NAMES)})")

    def venue(self, name: str) -> VenueConfig:
        """The settings of one venue (defaults when it has no section)."""
        return self.venues.get(name) or VenueConfig()

    def taker_fee_bps(self, venue: str, kind: int) -> float:
        """Taker fee for a venue's spot (kind 0) or perp (kind 1) market, config first."""
        vc = self.venue(venue)
        fee = vc.taker_fee_bps_perp if kind else vc.taker_fee_bps_spot
        if fee is None and venue in REGISTRY:
            fee = REGISTRY[venue].taker_fee_bps.get("perp" if kind else "spot")  # the venue's base tier
        if fee is None:
            # A venue we have no facts for (tests, demo venues): assume a conservative base tier.
            fee = 10.0
        return fee

    def max_quote_age_ns(self, venue: str) -> int:
        age = self.venue(venue).max_quote_age_ms or self.detector.max_quote_age_ms
        return age * 1_000_000


def _parse_env_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _env_overrides(environ: dict[str, str]) -> list[tuple[str, list[str], Any]]:
    out = []
    for key, raw in environ.items():
        if not key.startswith(ENV_PREFIX) or key in _ENV_NOT_CONFIG:
            continue
        # Segments are lower-case keys, except instrument names (table keys such as limits."BTC/USDT").
        path = [p.upper() if "/" in p else p.lower() for p in key[len(ENV_PREFIX) :].split("__")]
        if not all(path):
            raise ConfigError(f"environment {key}: empty key segment (use ARBSNIPER_SECTION__KEY)")
        out.append((key, path, _parse_env_value(raw)))
    return out


def _format_validation_error(exc: msgspec.ValidationError, origin: str, prefix: str) -> str:
    msg = str(exc)
    # msgspec says "... - at `$.detector.min_spread_bps`"; lead with the key, in TOML terms.
    text, sep, where = msg.rpartition(" - at `")
    key = where.rstrip("`").removeprefix("$").lstrip(".") if sep else ""
    if not sep:
        text = msg
    key = ".".join(p for p in (prefix, key) if p)
    return f"{origin}: {key}: {text}" if key else f"{origin}: {text}"


def load_config(path: str | os.PathLike[str] | None = None, environ: dict[str, str] | None = None) -> Config:
    """Resolve the configuration from a TOML file (optional) and the environment."""
    environ = dict(os.environ if environ is None else environ)
    if path is None:
        path = environ.get(ENV_CONFIG_PATH) or None
    data: dict[str, Any] = {}
    origin = "defaults"
    if path is not None:
        p = Path(path).expanduser()
        origin = str(p)
        try:
            with p.open("rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"config file {p} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {p} is not valid TOML: {exc}") from None
    for key, keypath, value in _env_overrides(environ):
        node = data
        for part in keypath[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"environment {key}: {'.'.join(keypath[:-1])} is not a table")
            node = child
        node[keypath[-1]] = value
        origin = f"{origin} + environment"
    # Tables keyed by name (venues, limits) are checked one by one first, so that an error names
    # the venue and instrument: msgspec elides dict keys from its error paths.
    venues = data.get("venues")
    if isinstance(venues, dict):
        for vname, vdata in venues.items():
            limits = vdata.get("limits") if isinstance(vdata, dict) else None
            for lname, ldata in (limits or {}).items() if isinstance(limits, dict) else ():
                _convert(ldata, LimitsConfig, origin, f"venues.{vname}.limits.{lname}")
            _convert(vdata, VenueConfig, origin, f"venues.{vname}")
    return _convert(data, Config, origin, "")


def _convert(data: Any, typ: type[_T], origin: str, prefix: str) -> _T:
    try:
        return msgspec.convert(data, typ, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, origin, prefix)) from None


def config_to_toml(config: Config) -> str:
    """Render the resolved config as TOML (for ``arbsniper config --print``)."""
    import tomli_w

    def drop_none(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: drop_none(v) for k, v in x.items() if v is not None}
        if isinstance(x, list):
            return [drop_none(v) for v in x]
        return x

    data = drop_none(msgspec.to_builtins(config))
    data["alerts"]["urls"] = [redact_url(u) for u in config.alerts.urls]
    data["redis"]["url"] = redact_password(config.redis.url)  # a password in the URL is a secret
    return tomli_w.dumps(data)


def redact_password(url: str) -> str:
    """A URL with its password (if any) replaced by ``***``, for printing and logs."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))

