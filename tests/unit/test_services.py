"""Engine ownership: which topics a shard subscribes to and which markets it holds for rates only."""

from __future__ import annotations

import pytest

from arbsniper.bus.codec import BROADCAST_TOPIC, bucket_of, topic_for
from arbsniper.config import load_config
from arbsniper.services.engine import Ownership, parse_shard


def test_shard_subscribes_to_its_buckets_the_rate_markets_it_does_not_own_and_broadcasts():
    config = load_config(environ={})  # rate sources USDT/USD and USDC/USDT
    owner = {n: bucket_of(n) % 2 for n in ("USDT/USD", "USDC/USDT")}
    for k in (0, 1):
        own = Ownership(config, shard=(k, 2))
        foreign = [n for n, s in owner.items() if s != k]
        prefixes = own.prefixes()
        # 128 of the 256 buckets, the foreign rate markets' exact topics, the broadcast topic.
        assert len(prefixes) == 128 + len(foreign) + 1
        assert BROADCAST_TOPIC in prefixes
        assert all(topic_for(n) in prefixes for n in foreign)
        assert own.denied() == foreign  # rates from them, never a signal on them
        assert own.accepts("USDT/USD") and own.accepts("USDC/USDT")


def test_instrument_list_owns_exactly_those_plus_rate_markets_for_reading():
    config = load_config(environ={})
    own = Ownership(config, instruments=["BTC/USDT", "BTC/USD"])
    assert own.owns("BTC/USDT") and not own.owns("ETH/USDT")
    assert not own.accepts("ETH/USDT") and own.accepts("USDT/USD")
    assert own.prefixes() == [topic_for("BTC/USDT"), topic_for("BTC/USD"), topic_for("USDT/USD"),
                              topic_for("USDC/USDT"), BROADCAST_TOPIC]
    assert own.denied() == ["USDT/USD", "USDC/USDT"]


def test_no_shard_subscribes_to_everything_and_denies_nothing():
    own = Ownership(load_config(environ={}))
    assert own.prefixes() == [b""] and own.denied() == [] and own.owns("ANY/THING")


@pytest.mark.parametrize("text,expected", [("0/2", (0, 2)), ("3/4", (3, 4)), ("0/1", (0, 1))])
def test_parse_shard_accepts_k_of_n(text, expected):
    assert parse_shard(text) == expected


@pytest.mark.parametrize("text", ["2/2", "1", "a/b", "-1/2", "0/257"])
def test_parse_shard_rejects_nonsense(text):
    with pytest.raises(ValueError):
        parse_shard(text)
