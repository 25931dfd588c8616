"""A bot in many servers runs sharded (discord.py's AutoShardedBot): NEWSBOT_SHARD_COUNT shards, of which each
process runs NEWSBOT_SHARD_IDS. Two bots, each on one of two shards, against the fake Discord, which routes each
server's events to the shard Discord would ((server id >> 22) % shards)."""
from __future__ import annotations

import pytest

from conftest import SAMPLES, answerable, make_settings
from newsbot.bot.app import NewsBot, ShardedNewsBot, bot_for
from newsbot.bot.settings import BotSettings
from newsbot.index.engine import Engine
from newsbot.index.errors import ConfigError
from support.fake_discord import ClientThread, FakeDiscord


def guild_on_shard(fake: FakeDiscord, shard: int, shards: int, admin: dict) -> dict:
    """A server whose id falls on `shard` (ids are time-based: make servers until one does)."""
    while True:
        guild = fake.add_guild(f"Server on shard {shard}", [{"user": admin, "permissions": FakeDiscord.ADMIN}])
        if (int(guild["id"]) >> 22) % shards == shard:
            return guild
        del fake.guilds[guild["id"]]


def test_two_processes_each_on_one_shard_answer_their_own_servers(tmp_path, cache_dir):
    fake = FakeDiscord().start()
    admin = FakeDiscord.user("alice")
    guilds = [guild_on_shard(fake, shard, 2, admin) for shard in (0, 1)]
    engine = Engine(make_settings(data_dir=tmp_path / "data", cache_dir=cache_dir))
    for guild in guilds:
        engine.add(engine.drafts_from_jsonl(str(SAMPLES / "articles.jsonl")), namespace=f"guild-{guild['id']}")
    runners = []
    try:
        for shard in (0, 1):
            settings = BotSettings(token="unused", ask_rate=1000, shard_count=2, shard_ids=(shard,))
            runner = ClientThread(fake, lambda s=settings, **options: bot_for(engine, s, **options))
            runners.append(runner.start())
        assert sorted(fake.shards_identified) == [(0, 2), (1, 2)], "one gateway connection per shard"
        for shard, (runner, guild) in enumerate(zip(runners, guilds)):
            assert isinstance(runner.client, ShardedNewsBot)
            assert [g.id for g in runner.client.guilds] == [int(guild["id"])], f"shard {shard} sees its server only"
            question, quoted = answerable()
            inter = fake.slash(guild["id"], admin, "ask", {"question": question})
            reply = fake.wait_reply(inter)
            assert quoted in reply["embeds"][0]["description"]
        assert all(r.crashed is None for r in runners)
        assert fake.unknown_routes == [] and fake.foreign_hosts == []
    finally:
        for runner in runners:
            runner.stop()
        fake.stop()
        engine.close()


def test_without_shard_settings_the_bot_is_one_connection(tmp_path, cache_dir):
    with Engine(make_settings(data_dir=tmp_path / "data", cache_dir=cache_dir)) as engine:
        bot = bot_for(engine, BotSettings(token="unused"))
        assert type(bot) is NewsBot


@pytest.mark.parametrize("env, why", [({"NEWSBOT_SHARD_IDS": "0"}, "needs NEWSBOT_SHARD_COUNT"),
                                      ({"NEWSBOT_SHARD_IDS": "2", "NEWSBOT_SHARD_COUNT": "2"}, "from 0 to 1"),
                                      ({"NEWSBOT_SHARD_COUNT": "0"}, "NEWSBOT_SHARD_COUNT")])
def test_shard_settings_are_checked(env, why):
    with pytest.raises(ConfigError, match=why):
        BotSettings(**BotSettings.from_env(env))
