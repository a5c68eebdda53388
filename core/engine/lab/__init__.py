"""The Lab: take one line of the training loop away, or change it, and measure what happens.

Each experiment runs the same small recipe two (or a few) times side by side, the runs
differing in one line of the loop, and reports what it measured (see ``docs/learning.md``).
Experiments come from plugins, through the ``register_experiments`` hook; the built-in ones
are in ``plugins/lab_*.py``.

- :mod:`trainpad.engine.lab.kit`: what an experiment is made of (its input, its events, the
  small recipe), in plain PyTorch, exported into scripts as it is.
- :mod:`trainpad.engine.lab.experiment`: an experiment as the Lab shows it (its code
  versions and the lines that differ), checked when a plugin registers it.
- :mod:`trainpad.engine.lab.runner`: the input prepared from plain data (a
  :class:`~trainpad.engine.lab.runner.LabRequest`) and the experiment run as a job: events out.
- :mod:`trainpad.engine.lab.script`: an experiment written out as a standalone script.

Nothing here imports Gradio; only :mod:`~trainpad.engine.lab.kit` and the runner import torch.
"""
