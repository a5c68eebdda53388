"""A plugin that calls sys.exit() while it is imported."""

import sys

sys.exit("trainpad_test_exits refuses to load")
