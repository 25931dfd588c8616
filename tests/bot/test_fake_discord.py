"""The fake Discord enforces Discord's rules: shown with a plain discord.py client that breaks them."""
from __future__ import annotations

import asyncio

import discord
import pytest
from discord import app_commands

from newsbot.bot.app import NewsBot
from newsbot.bot.settings import BotSettings
from support.fake_discord import ClientThread, FakeDiscord, check_message, DiscordError
from newsbot.index.engine import Engine
from conftest import make_settings


class RuleBreaker(discord.Client):
    """A client whose commands break Discord's rules on purpose."""

    def __init__(self, **options) -> None:
        super().__init__(intents=discord.Intents.default(), **options)
        self.tree = app_commands.CommandTree(self)
        self.outcomes: dict[str, str] = {}

        @self.tree.command(name="late", description="acknowledges after the 3 s deadline")
        async def late(interaction: discord.Interaction) -> None:
            await asyncio.sleep(3.3)
            await self._try("late", interaction.response.send_message("too late"))

        @self.tree.command(name="twice", description="acknowledges twice")
        async def twice(interaction: discord.Interaction) -> None:
            await interaction.response.defer()
            # discord.py itself refuses a second response, so send it as raw HTTP, like a buggy bot would.
            url = f"https://discord.com/api/v10/interactions/{interaction.id}/{interaction.token}/callback"
            async with interaction._session.post(url, json={"type": 5}) as resp:
                body = await resp.json()
                self.outcomes["twice"] = f"{resp.status} {body.get('code')}"

        @self.tree.command(name="huge", description="sends an oversized embed")
        async def huge(interaction: discord.Interaction) -> None:
            embed = discord.Embed(description="x" * 4000)
            for i in range(3):
                embed.add_field(name=f"f{i}", value="y" * 1000)
            await self._try("huge", interaction.response.send_message(embed=embed))

    async def _try(self, name: str, coro) -> None:
        try:
            await coro
            self.outcomes[name] = "ok"
        except discord.HTTPException as exc:
            self.outcomes[name] = f"{exc.status} {exc.code}"

    async def setup_hook(self) -> None:
        await self.tree.sync()


@pytest.fixture(scope="module")
def breaker():
    fake = FakeDiscord().start()
    user = FakeDiscord.user("dora")
    guild = fake.add_guild("Rules", [{"user": user, "permissions": FakeDiscord.ADMIN}])
    runner = ClientThread(fake, RuleBreaker).start()
    yield fake, runner, guild["id"], user
    runner.stop()
    fake.stop()


@pytest.mark.parametrize("command, outcome", [
    ("late", "404 10062"),  # an acknowledgement after 3 seconds is Unknown Interaction
    ("twice", "400 40060"),  # a second acknowledgement is refused
    ("huge", "400 50035"),  # an embed over 6000 characters is Invalid Form Body
], ids=["ack_after_3_seconds_is_unknown_interaction", "second_ack_is_refused", "embed_over_6000_chars_is_invalid_form_body"])
def test_discord_limits_are_enforced(breaker, command, outcome):
    fake, runner, gid, user = breaker
    fake.slash(gid, user, command)
    assert fake.wait_until(lambda: runner.client.outcomes.get(command), 30, f"the {command} outcome") == outcome


def test_a_command_exists_only_once_synced(breaker):
    fake, _, gid, user = breaker
    with pytest.raises(AssertionError, match="never synced"):
        fake.slash(gid, user, "ask")


def test_message_limits_are_enforced():
    with pytest.raises(DiscordError) as err:
        check_message({"content": "x" * 2001})
    assert err.value.code == 50035
    with pytest.raises(DiscordError):
        check_message({"embeds": [{"fields": [{"name": "n", "value": "v"}] * 26}]})
    check_message({"content": "x" * 2000, "embeds": [{"description": "d" * 4096}]})


def test_commands_sync_instantly_to_the_configured_server(tmp_path, cache_dir):
    fake = FakeDiscord().start()
    user = FakeDiscord.user("erin")
    gid = fake.add_guild("Dev", [{"user": user, "permissions": FakeDiscord.ADMIN}])["id"]
    with Engine(make_settings(data_dir=tmp_path / "data", cache_dir=cache_dir)) as engine:
        runner = ClientThread(fake, lambda **o: NewsBot(engine, BotSettings(guild_id=int(gid)), **o)).start()
        try:
            assert fake.global_commands == []
            assert {c["name"] for c in fake.guild_commands[gid]} == {"ask", "add", "sources", "remove", "stats", "help", "language", "feed"}
            assert fake.unknown_routes == [] and runner.crashed is None
        finally:
            runner.stop()
            fake.stop()
