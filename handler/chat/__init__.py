"""The chat turn without HTTP: plan, context, model streaming, saving, side work.

`turn.run_turn` yields typed events (events.py); routes/chat.py writes them as
server-sent events. What a turn talks to (model, embedder, index, web search)
is chosen once per application in services.py.
"""
