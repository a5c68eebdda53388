"""A plugin whose import fails, the way one with a missing dependency does."""

import trainpad_test_missing_dependency  # noqa: F401  (no such module)

from trainpad import hookimpl


@hookimpl
def register_models(register):  # never reached
    raise AssertionError("a plugin that failed to import was called")
