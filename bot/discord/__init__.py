"""The Discord front end: the bot, its commands, and the corpus service they call."""
