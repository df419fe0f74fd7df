"""Front ends over the corpus core: the command line (`python -m bot`) and the Discord bot.

Importing this package does not import discord.py; only `python -m bot run` does.
"""
