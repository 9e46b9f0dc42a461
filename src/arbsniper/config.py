"""Typed, frozen configuration: one TOML file plus ``ARBSNIPER_*`` environment overrides.

Everything is validated at start: an unknown key, a wrong type or an out-of-range value stops
start-up with a ``ConfigError`` naming the key. Secrets never live here; they come from the
environment where they are used and are never printed.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import tomllib
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

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


# The rules of single settings, as types msgspec checks while converting a loaded config (it does not
# check them when a section is built in code). A rule relating two settings is a __post_init__.
# Every float is finite: the bounds at ±float max reject NaN (it compares false) and the infinities.
_FLOAT_MAX = sys.float_info.max
FiniteFloat = Annotated[float, msgspec.Meta(ge=-_FLOAT_MAX, le=_FLOAT_MAX)]
NonNegativeFloat = Annotated[float, msgspec.Meta(ge=0, le=_FLOAT_MAX)]
PositiveFloat = Annotated[float, msgspec.Meta(gt=0, le=_FLOAT_MAX)]
Percent = Annotated[float, msgspec.Meta(ge=0, le=100)]
Rate = Annotated[float, msgspec.Meta(gt=0, le=100)]  # per second
NonNegativeInt = Annotated[int, msgspec.Meta(ge=0)]
PositiveInt = Annotated[int, msgspec.Meta(gt=0)]
Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]  # 0 = any free port
TakerFeeBps = Annotated[float, msgspec.Meta(ge=0, lt=1000)]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]  # read in any case
Market = Literal["spot", "perp"]
LegRisk = Literal["unwind", "hedge"]
ZmqEndpoints = Annotated[list[Annotated[str, msgspec.Meta(pattern="^(tcp|ipc|inproc)://")]], msgspec.Meta(min_length=1)]
RedisUrl = Annotated[str, msgspec.Meta(pattern="^(redis|rediss|unix)://")]
AppriseUrl = Annotated[str, msgspec.Meta(pattern="://")]


def _check(cond: bool, msg: str) -> None:
    if not cond:
        raise ValueError(msg)


class DetectorConfig(_Section, frozen=True):
    """Thresholds and costs of SPEC §5."""

    min_spread_bps: NonNegativeFloat = 10.0
    min_net_bps: FiniteFloat = 0.0
    min_confidence: Percent = 0.0
    min_funding_delta: FiniteFloat | None = None  # fraction per 8 h; only checked where set
    max_quote_age_ms: PositiveInt = 5000
    slippage_bps: NonNegativeFloat = 3.0  # used only where no L2 depth is known for both legs
    max_notional: PositiveFloat = 10_000.0  # in the buy leg's quote currency
    holding_hours: NonNegativeFloat = 8.0  # horizon over which funding is expected to accrue
    max_sane_spread_bps: FiniteFloat = 500.0  # beyond this a spread is suspect, never tradable
    # A funding rate beyond this (fraction per the venue's funding interval) is a rejected frame:
    # real caps are a few percent per interval; NaN, 1e300 or a percent read as a fraction are not.
    max_abs_funding_rate: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.05
    update_min_bps: NonNegativeFloat = 2.0  # an open opportunity is re-announced when net moves this much
    update_min_size_pct: NonNegativeFloat = 25.0  # ... or when its size moves by this percentage
    deny: list[str] = []  # unified instruments never signalled

    def __post_init__(self) -> None:
        _check(self.max_sane_spread_bps > self.min_spread_bps, "max_sane_spread_bps must exceed min_spread_bps")
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
    max_depeg_bps: PositiveFloat = 100.0  # a rate further than this from 1 stops cross-currency signals
    max_rate_age_ms: PositiveInt = 30_000

    def __post_init__(self) -> None:
        for ccy, inst in self.sources.items():
            try:
                parsed = parse_instrument(inst)
            except InstrumentError as exc:
                raise ValueError(f"sources.{ccy}: {exc}") from None
            _check(parsed.base == ccy and not parsed.is_perp, f"sources.{ccy}: {inst} must be the spot market {ccy}/…")


class LimitsConfig(_Section, frozen=True):
    """What a venue accepts for one instrument: lot step, price tick, minimum order value."""

    lot_size: NonNegativeFloat = 0.0
    tick_size: NonNegativeFloat = 0.0
    min_notional: NonNegativeFloat = 0.0


class VenueConfig(_Section, frozen=True):
    """Per-venue settings; anything unset takes the venue's defaults."""

    enabled: bool = True
    markets: list[Market] | None = None  # None = every market the venue has
    instruments: list[str] | None = None  # unified names; None = the configured bases
    taker_fee_bps_spot: TakerFeeBps | None = None
    taker_fee_bps_perp: TakerFeeBps | None = None
    max_quote_age_ms: PositiveInt | None = None
    base_url: str | None = None  # WebSocket base URL override (tests, demo, proxies)
    rest_url: str | None = None  # REST base URL override
    limits: dict[str, LimitsConfig] = {}

    def __post_init__(self) -> None:
        for name in list(self.instruments or ()) + list(self.limits):
            try:
                parse_instrument(name)
            except InstrumentError as exc:
                raise ValueError(str(exc)) from None


class BusConfig(_Section, frozen=True):
    market_capacity: PositiveInt = 4096  # distinct (instrument, venue, kind) keys pending before drops
    signal_capacity: PositiveInt = 65_536  # per consumer


class HistoryConfig(_Section, frozen=True):
    enabled: bool = True
    batch: PositiveInt = 500
    flush_ms: PositiveInt = 200
    keep_days: NonNegativeFloat = 7.0  # signals older than this are deleted while running; 0 = keep all


class DemoConfig(_Section, frozen=True):
    """The synthetic market of ``arbsniper run --demo``."""

    seed: int | None = None
    updates_per_s: PositiveFloat = 2000.0
    dislocation_every_s: PositiveFloat = 1.5  # mean time between injected genuine dislocations
    stale_every_s: PositiveFloat = 7.0  # mean time between a venue going quiet on an instrument
    crossed_every_s: PositiveFloat = 5.0  # mean time between injected crossed (invalid) quotes
    bases: PositiveInt = 31  # base assets the simulator lists (sim/market.py: 31 named, then synthetic coins)


DEFAULT_INVENTORY: dict[str, float] = {"USDT": 10_000.0, "USD": 10_000.0, "USDC": 10_000.0, "BTC": 0.1, "ETH": 3.0, "SOL": 50.0}


class CaptureConfig(_Section, frozen=True):
    """The capture estimator (``capture/estimator.py``): p_capture on every signal, and its gate."""

    prior: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.5  # p_capture of a venue pair with no history yet
    prior_weight: NonNegativeFloat = 10.0  # how many observed lifetimes the prior is worth
    min_instrument_history: PositiveInt = 30  # lifetimes of one instrument on a pair before it has its own estimate
    window: PositiveInt = 500  # the newest lifetimes kept per venue pair and per instrument on it
    min_capture: Annotated[float, msgspec.Meta(ge=0, le=1)] | None = None  # signals below this do not open


class TradingConfig(_Section, frozen=True):
    """The strategy runner and paper executor (SPEC §8); amounts are in each leg's quote currency."""

    enabled: bool = True  # `arbsniper run` trades on paper unless --no-trade
    latency_ms: NonNegativeFloat = 100.0  # paper: time from sending an order to its arrival at the venue
    venue_latency_ms: dict[str, NonNegativeFloat] = {}  # per-venue override of latency_ms
    min_net_bps: FiniteFloat = 0.0  # signals with a smaller net edge are not traded
    min_capture: Annotated[float, msgspec.Meta(ge=0, le=1)] | None = None  # ... nor those with a smaller p_capture
    price_tolerance_bps: NonNegativeFloat = 5.0  # a leg's price may be this much worse than the signal's, or no trade
    max_signal_age_ms: PositiveInt = 1000  # older signals are not traded
    min_trade_notional: NonNegativeFloat = 10.0  # a trade sized below this is refused
    max_trade_notional: FiniteFloat = 1_000.0  # a trade is sized down to this
    max_venue_notional: PositiveFloat = 5_000.0  # open exposure per venue (in-flight orders + open positions)
    max_open_positions: NonNegativeInt = 5
    daily_loss_limit: PositiveFloat = 250.0  # in the reference currency; realized today + unrealized
    leg_risk: LegRisk = "unwind"  # a leg filled alone: "unwind" it where it filled, or "hedge" on the other venue
    perp_leverage: Annotated[float, msgspec.Meta(ge=1, le=_FLOAT_MAX)] = 1.0  # perp margin = notional / leverage
    exit_basis_bps: FiniteFloat = 0.0  # perp positions close when the basis has converged to this
    holding_period_s: PositiveFloat = 8 * 3600.0  # ... and at the latest after this long
    mark_every_s: PositiveFloat = 1.0  # marking to market, funding accrual and exit checks
    # Starting inventory per venue and asset, seeded once into a new ledger; "default" applies to
    # every venue without its own entry.
    inventory: dict[str, dict[str, NonNegativeFloat]] = msgspec.field(
        default_factory=lambda: {"default": dict(DEFAULT_INVENTORY)}
    )

    def __post_init__(self) -> None:
        _check(self.min_trade_notional <= self.max_trade_notional, "need min_trade_notional <= max_trade_notional")
        for name in list(self.venue_latency_ms) + [n for n in self.inventory if n != "default"]:
            _check(name in VENUE_NAMES, f"{name}: unknown venue (known: {', '.join(VENUE_NAMES)})")

    def latency_s(self, venue: str) -> float:
        return self.venue_latency_ms.get(venue, self.latency_ms) / 1000.0

    def starting_inventory(self, venue: str) -> dict[str, float]:
        return dict(self.inventory.get(venue, self.inventory.get("default", {})))


class WebConfig(_Section, frozen=True):
    """The dashboard server (SPEC §7): loopback by default; a wider bind needs a token."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: Port = 8000
    push_hz: Rate = 10.0  # most signal batches per second pushed to a browser
    state_hz: Rate = 5.0  # matrix, venue health, counters and chart points per second
    closed_keep: PositiveInt = 200  # recently closed opportunities kept for the page
    chart_seconds: PositiveInt = 120  # spread chart window
    # Host names answered besides loopback ones (a loopback bind answers only those: DNS rebinding);
    # on a wider bind, empty = any Host (the token guards it).
    allowed_hosts: list[str] = []
    # Origins (scheme://host[:port]) allowed to open /ws and socket.io besides the dashboard's own.
    allowed_origins: list[str] = []


class AlertsConfig(_Section, frozen=True):
    """Notifications on new opportunities (SPEC §10), sent through apprise URLs."""

    urls: list[AppriseUrl] = []  # json://host/path, tgram://token/chat, discord://…, slack://…
    min_net_bps: FiniteFloat = 20.0  # alert only on opens at or above this net edge…
    min_profit: FiniteFloat = 0.0  # …and this profit, in the opportunity's quote currency
    max_per_minute: PositiveInt = 6  # beyond this rate alerts are suppressed (and counted)
    timeout_s: PositiveFloat = 10.0  # per notification
    queue: PositiveInt = 64  # alerts waiting to be sent; beyond it they are dropped (and counted)


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

    bind: ZmqEndpoints = msgspec.field(default_factory=lambda: ["tcp://127.0.0.1:5555"])
    connect: ZmqEndpoints = msgspec.field(default_factory=lambda: ["tcp://127.0.0.1:5555"])
    sndhwm: PositiveInt = 1000  # messages queued per subscriber before the ingest conflates (newest wins)
    rcvhwm: PositiveInt = 1000  # messages queued in the engine before the publisher sees back-pressure
    linger_ms: NonNegativeInt = 200  # how long a closing ingest may still flush queued messages
    heartbeat_ivl_ms: PositiveInt = 1000  # ZMTP heartbeats: a dead peer is noticed ...
    heartbeat_timeout_ms: int = 3000  # ... after this long, and its queue released
    reconnect_ivl_ms: PositiveInt = 100  # engine reconnect back-off, first step ...
    reconnect_ivl_max_ms: int = 2000  # ... and cap
    batch: PositiveInt = 1024  # messages the engine takes per wake-up before yielding to the loop

    def __post_init__(self) -> None:
        _check(self.heartbeat_ivl_ms < self.heartbeat_timeout_ms, "need heartbeat_ivl_ms < heartbeat_timeout_ms")
        _check(self.reconnect_ivl_ms <= self.reconnect_ivl_max_ms, "need reconnect_ivl_ms <= reconnect_ivl_max_ms")


class RedisConfig(_Section, frozen=True):
    """Where signals go in the distributed deployment (and with ``arbsniper run --redis``)."""

    url: RedisUrl = "redis://127.0.0.1:6379/0"
    cluster: bool = False  # url names one node of a Redis Cluster: use redis-py's cluster client
    prefix: str = ""  # prepended to every key and to the channel; on a cluster it carries the hash tag, e.g. "{arb}:"
    channel: str = "arbitrage:signals"  # PUBLISH <json> per signal
    history_key: str = "signals:history"  # sorted set, score = timestamp (ms)
    history_max: PositiveInt = 1000  # newest kept in the sorted set
    stream_key: str = "signals:stream"  # XADD, read with consumer groups
    stream_maxlen: PositiveInt = 100_000  # approximate cap (MAXLEN ~)
    buffer: PositiveInt = 100_000  # signals held while Redis is down or slow; beyond it the oldest drop (counted)
    batch: PositiveInt = 256  # signals per pipelined round trip
    timeout_ms: PositiveInt = 1000  # connect and command timeout: slower counts as down
    dedupe_ttl_s: PositiveInt = 600  # how long a signal's id guards against a double write on retry

    # The keys the publish script touches at once, besides history and stream (``key`` adds the prefix).
    SEEN = "signals:seen:"  # + signal uid: the double-write guard
    OPEN = "signals:open:"  # + shard name: that shard's open opportunities

    def __post_init__(self) -> None:
        if self.cluster:
            # The publish script touches several keys at once: on a cluster they must share one
            # slot, which only a common hash tag gives (the SPEC's key names have none).
            keys = [self.key(k) for k in (self.history_key, self.stream_key, self.SEEN, self.OPEN)]
            _check(len({hash_tag(k) for k in keys}) == 1,
                   f"prefix: on a Redis Cluster every key must carry one hash tag (e.g. prefix = \"{{arb}}:\"); "
                   f"these do not share one: {', '.join(keys)}")

    def key(self, name: str) -> str:
        """A key or channel name with the configured prefix."""
        return self.prefix + name


def hash_tag(key: str) -> str:
    """The part of a key Redis Cluster hashes: the text inside its first ``{…}`` if not empty, else the whole key."""
    start = key.find("{")
    if start >= 0:
        end = key.find("}", start + 1)
        if end > start + 1:
            return key[start + 1 : end]
    return key


def default_data_dir() -> str:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "arbsniper")


class Config(_Section, frozen=True):
    """The whole resolved configuration."""

    data_dir: str = msgspec.field(default_factory=default_data_dir)
    bases: list[str] = msgspec.field(default_factory=lambda: ["BTC", "ETH", "SOL"])  # universe = "bases"
    # Which instruments: "auto" discovers them from the venues' listings (universe.py); "bases":
    # the listings of `bases` only. [venues.X] instruments narrows one venue either way.
    universe: Literal["auto", "bases"] = "auto"
    min_venues: Annotated[int, msgspec.Meta(ge=1)] = 2  # auto: a base listed and trading on at least this many venues
    max_instruments: Annotated[int, msgspec.Meta(ge=1)] = 100  # auto: the most bases kept, by 24 h quote volume
    metadata_refresh_s: Annotated[float, msgspec.Meta(gt=0, le=_FLOAT_MAX)] = 3600.0  # listings fetched again this often
    log_level: LogLevel = "INFO"
    detector: DetectorConfig = DetectorConfig()
    conversion: ConversionConfig = ConversionConfig()
    venues: dict[str, VenueConfig] = {}
    bus: BusConfig = BusConfig()
    history: HistoryConfig = HistoryConfig()
    demo: DemoConfig = DemoConfig()
    trading: TradingConfig = TradingConfig()
    capture: CaptureConfig = CaptureConfig()
    web: WebConfig = WebConfig()
    alerts: AlertsConfig = AlertsConfig()
    zmq: ZmqConfig = ZmqConfig()
    redis: RedisConfig = RedisConfig()

    def __post_init__(self) -> None:
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


_PATH_STEP = re.compile(r"\.(\w+)|\[(\d+|\.\.\.)\]")  # msgspec's error path: `.field`, `[index]`, `[...]` (a dict key)
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")  # a TOML key that needs no quotes
_MISSING = object()


def _strip(typ: Any) -> Any:
    """The type under ``Annotated[...]`` and ``X | None``, to walk the config's types along an error path."""
    while True:
        origin = get_origin(typ)
        if origin is Annotated:
            typ = get_args(typ)[0]
        elif origin in (Union, UnionType) and len(args := [a for a in get_args(typ) if a is not type(None)]) == 1:
            typ = args[0]
        else:
            return typ


def _inner(typ: Any, step: str | int | None) -> Any:
    """The type one step into ``typ``: a struct's field (by name), a list's item (by index) or a
    dict's value (``None``); ``Any`` where the step does not fit the type."""
    typ = _strip(typ)
    if isinstance(step, str):
        if isinstance(typ, type) and issubclass(typ, msgspec.Struct):
            return next((f.type for f in msgspec.structs.fields(typ) if f.encode_name == step), Any)
        return Any
    origin, args = get_origin(typ), get_args(typ)
    if step is None:
        return args[1] if origin is dict else Any
    return args[0] if origin is list and args else Any


def _explain(exc: msgspec.ValidationError, data: Any, typ: Any) -> tuple[list[str | int], str]:
    """The key path (in the input data) and the message of a conversion error.

    msgspec elides dict keys from its paths (``$.venues[...].limits[...]``): the entries of such a
    table are converted one by one to find the one that fails, so that the error names it.
    """
    text, sep, where = str(exc).rpartition(" - at `")
    if not sep:  # the value itself is wrong (it is not a container, or a __post_init__ rule failed)
        return [], _readable(str(exc), data, typ)
    keys: list[str | int] = []
    for match in _PATH_STEP.finditer(where):
        name, index = match.groups()
        if index == "...":
            value_type = _inner(typ, None)
            for key, value in data.items() if isinstance(data, dict) else ():
                try:
                    msgspec.convert(value, value_type, strict=True)
                except msgspec.ValidationError as inner:
                    sub_keys, text = _explain(inner, value, value_type)
                    return [*keys, key, *sub_keys], text
            return keys, text
        step: str | int = name if name is not None else int(index)
        typ = _inner(typ, step)
        if isinstance(step, str):
            data = data.get(step, _MISSING) if isinstance(data, dict) else _MISSING
        else:
            data = data[step] if isinstance(data, list) and step < len(data) else _MISSING
        keys.append(step)
    return keys, _readable(text, data, typ)


def _readable(text: str, value: Any, typ: Any) -> str:
    """msgspec's message in TOML terms, with the offending value where it helps (numbers and choices,
    never strings: a URL may hold a secret)."""
    text = text.replace(" | null`", "`").replace("`object`", "`table`")  # TOML has no null: a key is left out
    typ = _strip(typ)
    if get_origin(typ) is Literal and text.startswith("Invalid enum value") and value is not _MISSING:
        return f"Expected one of {', '.join(map(repr, get_args(typ)))}, got {value!r}"
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number and text.startswith(("Expected `float`", "Expected `int`")) and ", got" not in text:
        if isinstance(value, float) and not math.isfinite(value):
            # the bounds that exclude the infinities say nothing to a reader
            text = text.replace(f" <= {_FLOAT_MAX!r}", "").replace(f" >= {-_FLOAT_MAX!r}", "")
            text = text.replace("Expected `float`", "Expected a finite `float`", 1)
        text = f"{text}, got {value!r}"
    return text


def _toml_key(keys: list[str | int]) -> str:
    """A key path as it is written in TOML: ``venues.okx.limits."BTC/USDT".lot_size``, ``zmq.bind[0]``."""
    out = ""
    for key in keys:
        if isinstance(key, int):
            out += f"[{key}]"
        else:
            out += ("." if out else "") + (key if _BARE_KEY.fullmatch(key) else json.dumps(key, ensure_ascii=False))
    return out


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
        except IsADirectoryError:
            raise ConfigError(f"config file {p} is a directory") from None
        except OSError as exc:
            raise ConfigError(f"config file {p}: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:  # TOML is UTF-8
            raise ConfigError(f"config file {p} is not UTF-8 text: {exc.reason} at byte {exc.start}") from None
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
    level = data.get("log_level")
    if isinstance(level, str) and level.upper() in get_args(LogLevel):
        data["log_level"] = level.upper()  # read in any case, as logging reads it; held in upper case
    return _convert(data, Config, origin)


def _convert(data: Any, typ: type[_T], origin: str) -> _T:
    # Strict: TOML (and the environment, parsed as TOML literals) has real numbers and booleans, so
    # "8000" for a port is a mistake to report, not to coerce.
    try:
        return msgspec.convert(data, typ, strict=True)
    except msgspec.ValidationError as exc:
        keys, text = _explain(exc, data, typ)
        raise ConfigError(f"{origin}: {_toml_key(keys)}: {text}" if keys else f"{origin}: {text}") from None


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
    given = data.pop("venues")
    data["alerts"]["urls"] = [redact_url(u) for u in config.alerts.urls]
    data["redis"]["url"] = redact_password(config.redis.url)  # a password in the URL is a secret
    text = tomli_w.dumps(data)
    for name in VENUE_NAMES:  # every venue with the values it takes effect with, its limits as comments
        section, limits = _effective_venue(config, name, given.get(name, {}))
        text += "\n" + tomli_w.dumps({"venues": {name: section}}).rstrip("\n") + "\n"
        for market, values in limits.items():
            text += f"# {market} protocol limits: " + ", ".join(f"{k} = {v}" for k, v in values.items()) + "\n"
    return text


def _effective_venue(config: Config, name: str, given: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """One venue's section as it takes effect (the configured keys, then the defaults it would use:
    markets, taker fees, quote age), and its protocol limits per market (fixed, not settable).
    Per-instrument lot, tick and minimum come from the venue's metadata at start-up unless set here."""
    info = REGISTRY.get(name)
    vc = config.venue(name)
    out: dict[str, Any] = {"enabled": vc.enabled}
    markets = list(vc.markets or (info.markets if info else ()))
    out["markets"] = markets
    out["taker_fee_bps_spot"] = config.taker_fee_bps(name, 0)
    out["taker_fee_bps_perp"] = config.taker_fee_bps(name, 1)
    out["max_quote_age_ms"] = config.max_quote_age_ns(name) // 1_000_000
    out.update({k: v for k, v in given.items() if k not in out and v != {}})
    limits = {}
    for market in markets:
        cls = info.markets.get(market) if info else None
        if cls is not None:
            limits[market] = {
                "max_instruments_per_connection": cls.max_instruments_per_connection,
                "max_messages_per_s": cls.max_messages_per_s,
                "connection_lifetime_s": cls.lifetime_s,
                "book_depth": cls.book_depth,
            }
    return out, limits


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

