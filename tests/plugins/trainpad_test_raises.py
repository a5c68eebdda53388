"""A plugin that registers a loss, then raises inside its second hook.

It must lose both components: the loss it registered before the error too.
"""

from trainpad import hookimpl


@hookimpl
def register_losses(register):
    register("raises-loss", lambda: (lambda output, target: output.sum()))


@hookimpl
def register_models(register):
    raise RuntimeError("the model server is down")
