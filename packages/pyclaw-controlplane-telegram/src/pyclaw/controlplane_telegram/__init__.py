"""Telegram channel: long polling, delivery, approvals."""
