"""The training loop a run makes, as the Python that PyTorch teaches, with the run's own
components and settings filled in: what the Train tab's loop view shows, line by line.

:func:`loop_lines` writes it from a :class:`~trainpad.engine.config.TrainConfig` and the
components' declarations.  A component whose factory does one thing, returning one call
(``return torch.optim.SGD(parameters, lr=lr, momentum=momentum)``), is shown as that call
with the hyperparameters' values put in (``torch.optim.SGD(model.parameters(), lr=0.1,
momentum=0.9)``); any other is shown as a call of its factory with them.  Each line may
name what it did in a step (:attr:`LoopLine.shows`), which the view fills in from the run's
:class:`~trainpad.engine.stepping.LoopTrace`.  It is the loop of
:meth:`TrainingRun.events <trainpad.engine.training.TrainingRun.events>`, written plainly:
the step's lines are those of the exported script's
:func:`~trainpad.engine.script_template.train_step`, and the schedule's settings its
``ONECYCLE``, both read from that module's source (``trainpad export`` writes the whole of
it as a script).

Torch-free: it reads source code.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from trainpad.engine.config import RUN_PARAMS, TrainConfig
from trainpad.engine.export import template_source, template_tree, template_value
from trainpad.engine.message import msg
from trainpad.engine.python_source import compile_python, parse_python

if TYPE_CHECKING:
    from trainpad.engine.engine import Engine
    from trainpad.engine.registry import Component

#: What a line of the loop can show from a step: the keys of :func:`loop_lines`'s ``shows``.
SHOWS = ("data", "loader", "model", "epoch", "batch", "device", "output", "loss", "grad", "lr", "next_lr", "test")
#: What each line of the step shows, by its code as :func:`~trainpad.engine.script_template.train_step` writes it.
STEP_SHOWS = {
    "output = model(x)": "output",
    "loss = loss_fn(output, y)": "loss",
    "loss.backward()": "grad",
    "optimizer.step()": "lr",
    "scheduler.step()": "next_lr",
}


@dataclass(frozen=True)
class LoopLine:
    """One line of the loop.

    :param code: the Python, indented (with its comment, when the comment is fixed text).
    :param shows: what it did, filled in from a step (one of :data:`SHOWS`), or ``""``.
    :param comment: a comment with values in it, as a message (shown after ``code``, in the reader's language).
    """

    code: str
    shows: str = ""
    comment: str = ""


def loop_lines(engine: "Engine", config: TrainConfig, *, run_params: tuple = RUN_PARAMS) -> list[LoopLine]:
    """The loop that ``config`` trains with, line by line.

    :raises trainpad.engine.errors.ConfigError: for a config that a run would refuse.
    """
    config, parts, values = engine.check_config(config, run_params)
    dataset = parts["dataset"]
    meta = engine.dataset_meta(dataset)
    torchvision_name = dataset.meta.get("torchvision")
    if isinstance(torchvision_name, str) and torchvision_name.isidentifier():
        # ``shift`` is trainpad's augmentation (InMemoryDataset's), not an argument of torchvision's
        extra = "".join(f", {k}={v!r}" for k, v in values["dataset"].items() if k != "shift")
        data = f"train_set = torchvision.datasets.{torchvision_name}(root, train=True{extra})"
        if values["dataset"].get("shift"):
            data += f"  # each image then moved up to {values['dataset']['shift']} px at random"
    else:
        data = f"train_set = {_factory_call(dataset, {'root': _Code('root'), 'train': True}, values['dataset'])}"
    take = f"[:{config.train_samples}]" if config.train_samples else ""
    model_call = _factory_call(
        parts["model"], {"input_shape": tuple(meta["input_shape"]), "num_classes": len(dataset.meta["class_names"])}, values["model"]
    )
    optimizer = _inlined(parts["optimizer"], values["optimizer"], {"parameters": _Code("model.parameters()")}) or _factory_call(
        parts["optimizer"], {}, values["optimizer"], first="model.parameters()"
    )
    loss = _inlined(parts["loss"], values["loss"], {}) or _factory_call(parts["loss"], {}, values["loss"])
    lines = [
        LoopLine(f"torch.manual_seed({config.seed})  # the initial weights, then dropout"),
        LoopLine(f"generator = torch.Generator().manual_seed({config.seed})  # the order of the samples"),
        LoopLine(data, "data", msg("the first {count}", count=f"{config.train_samples:,}") if take else ""),
        LoopLine(f"loader = DataLoader(train_set, batch_size={config.batch_size}, shuffle=True, generator=generator)", "loader"),
        LoopLine(f"model = {model_call}.to(device)", "model"),
        LoopLine(f"optimizer = {optimizer}"),
    ]
    lines += [LoopLine(line) for line in _scheduler_lines(config.schedule, values["optimizer"])]
    lines += [
        LoopLine(f"loss_fn = {loss}"),
        LoopLine(""),
        LoopLine(f"for epoch in range(1, {config.epochs + 1}):", "epoch"),
        LoopLine("    model.train()"),
        LoopLine("    for x, y in loader:", "batch"),
        LoopLine("        x, y = x.to(device), y.to(device)", "device"),
    ]
    loss_input = _loss_input(parts)
    for code in _step_lines(scheduled=config.schedule != "constant"):
        lines.append(LoopLine("        " + code.replace("loss_fn(output,", f"loss_fn({loss_input},"), STEP_SHOWS.get(code, "")))
    lines += [
        LoopLine("    model.eval()"),
        LoopLine("    with torch.no_grad():  # the test split, once an epoch"),
        LoopLine("        test_loss, test_accuracy = evaluate(model, test_loader, loss_fn)", "test"),
    ]
    return lines


def _loss_input(parts: dict[str, Any]) -> str:
    """What the loss is given: the model's output, after log_softmax where the model returns
    logits and the loss expects log-probabilities (:mod:`trainpad.engine.pairing`)."""
    logits = parts["model"].meta.get("output", "logits") == "logits"
    return "output.log_softmax(dim=1)" if logits and parts["loss"].meta.get("expects", "logits") == "log_probs" else "output"


def _step_lines(*, scheduled: bool) -> list[str]:
    """The lines of :func:`~trainpad.engine.script_template.train_step`, read from its source:
    the PyTorch tutorial's step.  Left out: the docstring, the return, and the divergence
    guard (the statements that use ``loss_value``); ``if scheduler is not None:`` gives way to
    its body when the run has a schedule, and to nothing when it has none."""
    source = template_source()
    step = next(node for node in template_tree().body if isinstance(node, ast.FunctionDef) and node.name == "train_step")
    statements: list[ast.stmt] = []
    for node in step.body[1:]:  # after the docstring
        if isinstance(node, ast.Return) or any(isinstance(n, ast.Name) and n.id == "loss_value" for n in ast.walk(node)):
            continue
        if isinstance(node, ast.If) and ast.unparse(node.test) == "scheduler is not None":
            statements += node.body if scheduled else []
            continue
        statements.append(node)
    return [ast.get_source_segment(source, node) or "" for node in statements]


def _scheduler_lines(schedule: str, optimizer_values: dict[str, Any]) -> list[str]:
    peak = repr(optimizer_values["lr"]) if "lr" in optimizer_values else '[g["lr"] for g in optimizer.param_groups]'
    if schedule == "onecycle":
        settings = ", ".join(f"{key}={value!r}" for key, value in template_value("ONECYCLE").items())
        return [
            "scheduler = torch.optim.lr_scheduler.OneCycleLR(  # up to max_lr in the first quarter, then down",
            f"    optimizer, max_lr={peak}, total_steps=len(loader) * epochs, {settings})",
        ]
    if schedule == "cosine":
        return ["scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=len(loader) * epochs)"]
    return ["# no scheduler: the learning rate stays as the optimizer's"]


class _Code(str):
    """Source text to put into a call as it is."""

    def __repr__(self) -> str:
        return str(self)


def _factory_call(component: "Component", context: dict[str, Any], values: dict[str, Any], *, first: str | None = None) -> str:
    name = getattr(component.factory, "__name__", None)
    if not isinstance(name, str) or not name.isidentifier():
        name = component.name.replace("-", "_").replace(".", "_")
    args = [first] if first else []
    args += [f"{k}={v!r}" for k, v in {**context, **values}.items()]
    return f"{name}({', '.join(args)})"


def _inlined(component: "Component", values: dict[str, Any], context: dict[str, Any]) -> str | None:
    """The one expression the factory returns, with its arguments' values put in; ``None``
    when the factory does more than return one expression of its arguments and imports."""
    try:
        tree = parse_python(textwrap.dedent(inspect.getsource(component.factory)))
    except (OSError, TypeError, SyntaxError):
        return None
    function = tree.body[0] if tree.body else None
    if not isinstance(function, ast.FunctionDef):
        return None
    body = [node for node in function.body if not isinstance(node, (ast.Import, ast.ImportFrom))]
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
        body = body[1:]  # the docstring
    if len(body) != 1 or not isinstance(body[0], ast.Return) or body[0].value is None:
        return None
    arguments = {arg.arg for arg in function.args.args + function.args.kwonlyargs + function.args.posonlyargs}
    known = {**values, **context}
    if arguments - set(known):
        return None

    class Fill(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.AST:
            if node.id in known:
                value = known[node.id]
                return ast.Name(str(value), ast.Load()) if isinstance(value, _Code) else ast.Constant(value)
            return node

    expression = _fold(Fill().visit(body[0].value))
    return ast.unparse(expression)


def _fold(node: ast.AST) -> ast.AST:
    """Work out the parts of ``node`` made of constants alone (``True and 0.9 > 0`` -> ``True``)."""

    class Fold(ast.NodeTransformer):
        def generic_visit(self, node: ast.AST) -> ast.AST:
            node = super().generic_visit(node)
            # logic only: arithmetic on a user's numbers (``width ** width``) could take forever
            if isinstance(node, (ast.BoolOp, ast.Compare, ast.UnaryOp)) and all(
                isinstance(child, ast.Constant) for child in ast.iter_child_nodes(node) if isinstance(child, ast.expr)
            ):
                try:
                    code = compile_python(ast.fix_missing_locations(ast.Expression(node)), "<loop>", "eval")
                    return ast.Constant(eval(code, {"__builtins__": {}}, {}))
                except Exception:
                    return node
            return node

    return ast.fix_missing_locations(Fold().visit(node))


__all__ = ["LoopLine", "SHOWS", "loop_lines"]
