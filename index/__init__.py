"""newsbot's engine: articles, chunking, embedding, the Chroma store, retrieval and cited answers.

The bot, the CLI and the eval script use `index.engine.Engine`; nothing here knows Discord.
"""
