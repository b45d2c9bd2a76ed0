"""Slash commands, one cog per topic; each module ends in ``async def setup(bot)``."""
