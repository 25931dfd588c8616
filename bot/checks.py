"""Who may use a command, and where: app_commands checks that raise a CheckFailure saying why,
reported once by the client's `on_app_command_error`."""
from __future__ import annotations

import discord
from discord import app_commands

from . import services
from .settings import BotSettings


def namespace_for(guild_id: int | None, settings: BotSettings) -> str | None:
    """Each server has its own namespace; DMs only if a namespace is configured for them."""
    if guild_id is not None:
        return f"guild-{guild_id}"
    return settings.dm_namespace or None


def is_admin(interaction: discord.Interaction, settings: BotSettings) -> bool:
    """Manage Server (as Discord resolved it for this interaction), or the configured role."""
    member = interaction.user
    if not isinstance(member, discord.Member):
        return False
    if interaction.permissions.manage_guild or member.guild_permissions.manage_guild:
        return True
    return bool(settings.admin_role) and any(r.name == settings.admin_role for r in member.roles)


class NotAdmin(app_commands.CheckFailure):
    """A member without Manage Server (or the admin role) used an admin command; `what` is the
    catalogue key of what they tried, worded in their language by the error handler."""

    def __init__(self, what: str, role: str = "") -> None:
        super().__init__(f"Only members with Manage Server can {what}.")
        self.what, self.role = what, role


class NoNamespace(app_commands.CheckFailure):
    """Outside a server, with no NEWSBOT_DM_NAMESPACE."""


def admins_only(what: str):
    """The check behind /add and /remove. Discord already hides them from members without Manage
    Server (`default_permissions`); a server can show them to a role in its Integrations settings, and
    this check is what lets that role's members in only if it is NEWSBOT_ADMIN_ROLE."""
    def predicate(interaction: discord.Interaction) -> bool:
        settings = services.of(interaction.client).settings
        if is_admin(interaction, settings):
            return True
        raise NotAdmin(what, settings.admin_role)
    return app_commands.check(predicate)


def in_a_namespace():
    def predicate(interaction: discord.Interaction) -> bool:
        if namespace_for(interaction.guild_id, services.of(interaction.client).settings) is None:
            raise NoNamespace("bot.only_servers")
        return True
    return app_commands.check(predicate)
