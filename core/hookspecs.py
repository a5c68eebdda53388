"""Hook specifications: what a trainpad plugin can implement.

A plugin is a module or object with functions marked ``@hookimpl`` whose names are
those below.  The engine calls each ``register_*`` hook once, at start-up, with a
``register`` function bound to the plugin, so that every component records where it
came from.  An implementation may accept fewer arguments than the specification,
never more, and never gives them defaults.

Built-in plugins (in ``plugins/``) use exactly these hooks, so they are the examples
to copy.  The reference with every detail is ``docs/plugins.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from trainpad.engine.registry import Register
    from trainpad.engine.tabs import RegisterTab

hookspec = pluggy.HookspecMarker("trainpad")


@hookspec
def register_datasets(register: Register) -> None:
    """Register datasets.

    :param register: ``register(name, factory, *, description=None, params=(), **meta)``.
        ``factory(*, root, train, **hyperparameters)`` returns a ``torch.utils.data.Dataset``
        of ``(image_tensor, label)`` pairs, normalised; ``root`` is the data folder
        (a :class:`pathlib.Path`) and ``train`` picks the split.  Required meta:
        ``class_names`` (a list, one name per label).  Optional: ``input_shape``
        (default ``(1, 28, 28)``), ``mean`` and ``std`` (for prediction), and
        ``ink="centre"`` when images are drawn glyphs that prediction should crop and
        centre the way MNIST was made.

    The factory may return a :class:`trainpad.engine.data.InMemoryDataset` to get the fast
    batched data path.  Raise :class:`trainpad.engine.data.DataUnavailable` with a helpful
    message when files are missing.

    Example::

        @hookimpl
        def register_datasets(register):
            register("mnist", mnist, class_names=list("0123456789"))
    """


@hookspec
def register_models(register: Register) -> None:
    """Register models.

    :param register: as for :func:`register_datasets`.  ``factory(*, input_shape,
        num_classes, **hyperparameters)`` returns a ``torch.nn.Module`` whose output
        has shape ``(batch, num_classes)``.  Meta ``output`` is ``"log_probs"``
        (the module ends in ``log_softmax``) or ``"logits"`` (the default).

    Example::

        @hookimpl
        def register_models(register):
            register("tiny-mlp", tiny_mlp, output="logits")
    """


@hookspec
def register_optimizers(register: Register) -> None:
    """Register optimizers.

    :param register: as for :func:`register_datasets`.  ``factory(parameters,
        **hyperparameters)`` returns a ``torch.optim.Optimizer`` over ``parameters``.
        Name the learning rate ``lr``: the engine's schedules read it.

    Example::

        @hookimpl
        def register_optimizers(register):
            register("adam", lambda parameters, lr=1e-3: torch.optim.Adam(parameters, lr=lr))
    """


@hookspec
def register_losses(register: Register) -> None:
    """Register losses.

    :param register: as for :func:`register_datasets`.  ``factory(**hyperparameters)``
        returns a callable ``loss(output, target) -> scalar tensor``.  Meta ``expects``
        is ``"log_probs"`` or ``"logits"`` (the default); the engine pairs it with a
        model of either kind (:mod:`trainpad.engine.pairing`).

    Example::

        @hookimpl
        def register_losses(register):
            register("nll", lambda: F.nll_loss, expects="log_probs")
    """


@hookspec
def register_callbacks(register: Register) -> None:
    """Register training observers.

    :param register: as for :func:`register_datasets`.  ``factory(**hyperparameters)``
        returns a :class:`trainpad.engine.callbacks.Callback`, or ``None`` to stay out of a run
        (for instance when its setting is off).  The engine builds every registered
        callback for every run and calls ``on_train_begin``, ``on_batch_end``,
        ``on_epoch_end`` and ``on_train_end`` with the run's events.

    Example::

        @hookimpl
        def register_callbacks(register):
            register("print-epochs", PrintEpochs)
    """


@hookspec
def register_experiments(register: Register) -> None:
    """Register experiments for the Lab: one line of the training loop, changed, and measured.

    :param register: as for :func:`register_datasets`, with these keywords:
        ``title`` (the line of the loop it is about, required), ``versions`` (at least two
        ``(label, code)`` pairs: the code each arm runs, shown side by side with the lines
        that differ marked; :func:`trainpad.code_of` gives a function's), ``needs``
        (``"data"``, the default: samples of the session's dataset; or ``"picture"``: the
        learner's drawing and the session's model's first convolution) and ``samples``
        (``(train, test)``, default ``(4096, 1000)``).  ``factory(lab, **hyperparameters)``
        gets a :class:`trainpad.LabInput` and yields :class:`trainpad.LabProgress` events
        while it runs, then one :class:`trainpad.LabResult`.  Its random numbers come from
        generators seeded by ``lab.seed`` (``lab.generator()``), never from torch's global one.

    An experiment that needs data holds one of the web app's training slots while it runs,
    as a training run does; one that needs a picture is computed at once, like a prediction.

    Example::

        @hookimpl
        def register_experiments(register):
            register("momentum", momentum, title="momentum=0.9",
                     versions=[("momentum=0.9", code_of(train, momentum=0.9)), ("momentum=0", code_of(train, momentum=0.0))])
    """


@hookspec
def register_tabs(register: RegisterTab) -> None:
    """Add tabs to the web app.

    :param register: ``register(label, build, *, order=100)``.  ``build`` is called
        inside a ``gr.Tab(label)`` while the app's ``gr.Blocks`` is built, and creates
        Gradio components and events.  It is given what it asks for by name, as hooks are:
        ``engine`` (the :class:`~trainpad.engine.engine.Engine`), ``app`` (a
        :class:`trainpad.App`: the engine as ``app.engine``, and the services the built-in
        tabs share: ``app.store``, the visitors' sessions; ``app.executor``, where jobs run;
        ``app.slots``, the server's training slots), or both.  Built-in tabs have orders 10
        to 40; lower comes first.  A tab whose ``build`` raises is left out and reported.

    Example::

        @hookimpl
        def register_tabs(register):
            register("About", lambda engine: gr.Markdown("Hello"), order=90)
    """
