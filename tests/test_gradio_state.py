"""Gradio's per-session state, made lean (trainpad.web.gradio_state): the same attributes as
Gradio's, a fraction of the memory, nothing of the values a client sent, and forgotten with
trainpad's session."""

from __future__ import annotations

import tracemalloc

import pytest
from gradio.state_holder import SessionState

from trainpad.web.app import build_app
from trainpad.web.gradio_state import LeanSessionState, LeanStateHolder


@pytest.fixture(scope="module")
def demo():
    from trainpad.engine.engine import Engine

    return build_app(Engine.load(entrypoints=False))


def allocated(make, count: int = 5) -> float:
    """Bytes each of ``count`` objects that ``make()`` returns holds (traced allocations)."""
    tracemalloc.start()
    try:
        made = [make() for _ in range(count)]
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(made) == count
    return held / count


def test_a_lean_session_has_gradios_attributes_and_a_fraction_of_its_memory(demo):
    assert set(vars(LeanSessionState(demo))) == set(vars(SessionState(demo)))  # a Gradio that adds one fails here
    gradio, lean = allocated(lambda: SessionState(demo)), allocated(lambda: LeanSessionState(demo))
    assert lean < gradio / 4, f"a lean session holds {lean / 1024:.0f} kB, Gradio's {gradio / 1024:.0f} kB"


def test_a_value_a_client_sent_is_not_kept_and_the_session_goes_with_trainpads(demo):
    holder = LeanStateHolder()
    holder.set_blocks(demo)
    store = demo.trainpad_app.store
    store.on_drop.append(holder.forget)
    textbox = next(block for block in demo.blocks.values() if type(block).__name__ == "Textbox")
    state = holder["alice-session"]
    state._update_value_in_config(textbox._id, "x" * 100_000)  # what Gradio does with each input
    state[textbox._id] = textbox  # and with a component a handler returns
    assert state.config_values == {}
    store.get("alice-session")
    store.drop("alice-session")
    assert "alice-session" not in holder and "alice-session" not in holder.time_last_used
