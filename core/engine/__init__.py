"""The engine: plugins in, components out; training, evaluation, prediction and checkpoints.

It imports no Gradio, and torch only where a model is built, trained or used.  Plugins
use it through the names :mod:`trainpad` exports; the web app and the CLI through
:class:`~trainpad.engine.engine.Engine`'s methods and the events of
:mod:`trainpad.engine.events`.
"""
