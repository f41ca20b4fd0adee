"""``RecordingSink``: a ``ControlSink`` for tests that records events and can fail on demand."""

from __future__ import annotations

from collections.abc import Callable

from pyclaw.meta import ControlEvent


class RecordingSink:
    """Records every event it accepts. ``fail_times`` makes the next matching calls raise
    (``fail_when`` picks which events), as a runtime that is not ready would."""

    def __init__(self) -> None:
        self.events: list[ControlEvent] = []
        self.calls = 0
        self.fail_times = 0
        self.fail_when: Callable[[ControlEvent], bool] = lambda _event: True

    async def __call__(self, event: ControlEvent) -> None:
        self.calls += 1
        if self.fail_times and self.fail_when(event):
            self.fail_times -= 1
            raise RuntimeError("the runtime is not ready")
        self.events.append(event)

    def texts(self) -> list[str | None]:
        return [event.text for event in self.events]

    def external_ids(self) -> list[str]:
        return [event.external_id for event in self.events]
