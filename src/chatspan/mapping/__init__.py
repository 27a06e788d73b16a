"""Pure functions from chat-completion data to span attributes: no I/O, no global state.

The live instrumentation and the backfill both map through here, so a live span and a backfilled
span of the same completion carry the same attributes.
"""
