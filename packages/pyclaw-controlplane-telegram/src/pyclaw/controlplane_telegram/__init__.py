"""The Telegram channel: long polling in, replies and approval buttons out.

It will implement the ``pyclaw.meta.Channel`` protocol.

Not implemented yet: this package is an honest skeleton and exports nothing. Its capability
arrives with issue #6.
"""

__all__: list[str] = []
