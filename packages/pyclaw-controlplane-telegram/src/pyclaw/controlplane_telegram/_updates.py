"""Reading PTB ``Update`` objects: who sent it, where, and the ``ControlEvent`` it becomes."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import JsonValue
from telegram import Message, MessageReactionUpdated, ReactionTypeEmoji, Update, User

from pyclaw.meta import ControlEvent


@dataclass(frozen=True, slots=True)
class Origin:
    """Who an update comes from and in which chat (``None`` parts for anonymous updates)."""

    user_id: int | None
    chat_id: int | None
    chat_type: str | None
    name: str


def display_name(user: User | None) -> str:
    if user is None:
        return "unknown"
    name = user.full_name or str(user.id)
    return f"{name} (@{user.username})" if user.username else name


def origin(update: Update) -> Origin:
    """The sender and chat of a message, button press or reaction."""
    user = update.effective_user
    chat = update.effective_chat
    if update.callback_query is not None:
        user = update.callback_query.from_user
        message = update.callback_query.message
        chat = message.chat if message is not None else chat
    return Origin(
        user_id=None if user is None else user.id,
        chat_id=None if chat is None else chat.id,
        chat_type=None if chat is None else chat.type,
        name=display_name(user),
    )


def chat_key(update: Update) -> str:
    """What orders deliveries: updates of one chat are delivered in order."""
    found = origin(update)
    return str(found.chat_id) if found.chat_id is not None else f"update:{update.update_id}"


def parse_command(
    text: str, commands: tuple[str, ...], username: str | None
) -> tuple[str, str] | None:
    """``"/stop@my_bot now"`` → ``("stop", "now")`` when ``stop`` is a known command."""
    if not text.startswith("/"):
        return None
    head, _, args = text[1:].partition(" ")
    name, _, target = head.partition("@")
    if target and username and target.lower() != username.lower():
        return None  # a command for another bot in a group
    name = name.lower()
    return (name, args.strip()) if name in commands else None


def _message_data(message: Message) -> dict[str, JsonValue]:
    data: dict[str, JsonValue] = {
        "message_id": message.message_id,
        "chat_type": message.chat.type,
    }
    user = message.from_user
    if user is not None:
        data["name"] = display_name(user)
        if user.username:
            data["username"] = user.username
    if message.reply_to_message is not None:
        data["reply_to_message_id"] = message.reply_to_message.message_id
    if message.text is None:
        data["media"] = True
    return data


def message_event(
    channel: str, update_id: int, message: Message, commands: tuple[str, ...], username: str | None
) -> ControlEvent:
    """A user's message as a ``message`` or ``command`` event."""
    user = message.from_user
    text = message.text if message.text is not None else message.caption
    data = _message_data(message)
    kind: str = "message"
    command = parse_command(text or "", commands, username)
    if command is not None:
        kind, text = "command", command[0]
        data["args"] = command[1]
    return ControlEvent(
        channel=channel,
        kind="command" if kind == "command" else "message",
        external_id=f"{channel}:{update_id}",
        chat_id=str(message.chat.id),
        user_id=str(user.id if user is not None else message.chat.id),
        text=text,
        data=data,
    )


def reaction_event(channel: str, update_id: int, reaction: MessageReactionUpdated) -> ControlEvent:
    """An emoji reaction added or removed on a message, as a ``reaction`` event."""

    def emojis(kinds: tuple[object, ...]) -> list[JsonValue]:
        return [k.emoji for k in kinds if isinstance(k, ReactionTypeEmoji)]

    added = emojis(reaction.new_reaction)
    user = reaction.user
    return ControlEvent(
        channel=channel,
        kind="reaction",
        external_id=f"{channel}:{update_id}",
        chat_id=str(reaction.chat.id),
        user_id=str(user.id if user is not None else reaction.chat.id),
        text=str(added[0]) if added else None,
        data={
            "message_id": reaction.message_id,
            "added": added,
            "removed": emojis(reaction.old_reaction),
        },
    )
