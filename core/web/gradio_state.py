"""Gradio's own per-session memory, kept as small and as short-lived as trainpad's sessions.

For every session hash a client sends, Gradio keeps a ``SessionState`` (up to
``state_session_capacity``, 10,000 by default), and in it a copy of every component's
config, each input's last value written in: that is for its ``deep_link`` route, which this
app does not answer (:mod:`trainpad.web.open_routes`).  With trainpad's page of some 270
components a session cost ~400 kB and tens of milliseconds to make, so a client sending
made-up session hashes could fill gigabytes; and a refused 1 MB value stayed there, where
trainpad's own per-session caps do not count it.

:func:`install` replaces the app's state holder with :class:`LeanStateHolder`: its sessions
keep only what the handlers use (Gradio's ``gr.State`` values and the components' current
versions: a shallow copy of the app's lists), at most :data:`CAPACITY` of them, and each
is forgotten with trainpad's session of the same id (:meth:`SessionStore.on_drop
<trainpad.web.sessions.SessionStore>`).  trainpad keeps nothing of its own in Gradio's
state: a forgotten session that comes back starts a fresh one, as its page already did.
"""

from __future__ import annotations

import copy
import os
from typing import TYPE_CHECKING, Any

from gradio.state_holder import SessionState, StateHolder

if TYPE_CHECKING:
    import gradio as gr

    from trainpad.web.sessions import SessionStore

#: The most sessions Gradio keeps state for; past it, the least recently used is dropped
#: (each is now a few tens of kB: two shallow dicts of the app's components and events).
CAPACITY = 2000


class LeanSessionState(SessionState):
    """A ``SessionState`` without the config copy kept for deep links (see the module)."""

    def __init__(self, blocks: "gr.Blocks") -> None:  # SessionState.__init__, less config_values
        self.blocks_config = copy.copy(blocks.default_config)
        self.config_values: dict[int, Any] = {}
        self.state_data: dict[int, Any] = {}
        self._state_ttl: dict[int, Any] = {}
        self.is_closed = False
        self.STATE_TTL_WHEN_CLOSED = 1 if os.getenv("GRADIO_IS_E2E_TEST", None) else 3600

    def __setitem__(self, key: int, value: Any) -> None:
        super().__setitem__(key, value)
        self.config_values.pop(key, None)  # written for deep links only

    def _update_config(self, key: int) -> None:
        """Deep links only: nothing to keep."""

    def _update_value_in_config(self, key: int, value: Any) -> None:
        """Deep links only: the value a client sent is not kept."""


class LeanStateHolder(StateHolder):
    """Gradio's ``StateHolder``, making :class:`LeanSessionState` s, with :meth:`forget`."""

    def __getitem__(self, session_id: str) -> SessionState:
        with self.lock:
            if session_id not in self.session_data:
                self.session_data[session_id] = LeanSessionState(self.blocks)
        return super().__getitem__(session_id)

    def forget(self, session_id: str) -> None:
        """Drop ``session_id``'s state now (trainpad dropped its session)."""
        self.delete_state(session_id)
        with self.lock:
            self.session_data.pop(session_id, None)
            self.time_last_used.pop(session_id, None)


def install(demo: "gr.Blocks", store: "SessionStore | None") -> LeanStateHolder:
    """Give the launched ``demo`` a :class:`LeanStateHolder` that forgets with ``store``."""
    holder = LeanStateHolder()
    holder.set_blocks(demo)  # also demo.state_holder
    holder.capacity = min(holder.capacity, CAPACITY)
    demo.server_app.state_holder = holder
    if store is not None:
        store.on_drop.append(holder.forget)
    return holder


__all__ = ["CAPACITY", "LeanSessionState", "LeanStateHolder", "install"]
