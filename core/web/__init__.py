"""The web app: the Gradio Blocks, the tabs' handlers, sessions and a public server's limits.

Gradio is imported here and in the tab plugins only.  The handlers (``*_handler.py``)
hold each tab's work apart from its layout and run without Gradio, so tests call them
directly; they use the engine's public methods and events, never a run's internals.
"""
