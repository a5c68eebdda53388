"""trainpad's built-in plugins.

Each module here is a plugin, registered through the same hooks that third-party
packages use; read any of them as the example to copy.
"""
