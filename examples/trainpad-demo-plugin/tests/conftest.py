"""trainpad's fixtures for plugin authors (``engine_with``, ``mnist_dir``...), switched on here."""

pytest_plugins = ["trainpad.testing"]
