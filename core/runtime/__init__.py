"""The machine, not the model: threads and the allocator, the device, torchrun.

Used by the CLI and the web app at start-up, never by the engine's logic.
"""
