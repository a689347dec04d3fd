"""werkbot's channel-agnostic core.

Owns the typed events and replies, the router and dispatcher, durable storage (inbox,
outbox, timers), settings and texts, and the aiohttp server. It never imports
`adapters` or `handlers`: they plug in from outside.
"""
