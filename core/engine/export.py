"""A run written out as plain PyTorch: one standalone script that trains the same model.

:func:`export_script` turns a :class:`~trainpad.engine.config.TrainConfig` into a Python file
that imports only torch, torchvision and the standard library, and trains with the same
components, hyperparameters, settings, seed and data order as :meth:`Engine.build_run
<trainpad.engine.engine.Engine.build_run>` followed by :meth:`TrainingRun.events
<trainpad.engine.training.TrainingRun.events>`: on the CPU its losses equal trainpad's step
for step.  The web app's "Download as a script" and ``trainpad export`` write it.

Each component is written out from its plugin's own code: the factory's source
(:func:`inspect.getsource`), with the module-level helpers, constants and imports it uses,
called with the run's hyperparameters.  A dataset is written out as the torchvision dataset
it declares (``register(..., torchvision="MNIST")``: its ``.data`` and ``.targets``, normalised
with the dataset's ``mean`` and ``std``, moved at random by its ``shift`` hyperparameter if it
has one), or from its factory's source; ``from trainpad import InMemoryDataset`` there is
dropped, since the script defines its own, taking the same arguments.  A component that
cannot be written out (it needs the rest of trainpad, or a library other than torch and
torchvision, or is a lambda) is replaced by a stub that says why and raises when the script reaches it, and
the script's docstring lists it.

Nothing here imports torch: writing a script is reading source code.
"""

from __future__ import annotations

import ast
import builtins
import functools
import importlib
import inspect
import re
import symtable
import sys
import textwrap
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from trainpad import __version__
from trainpad.engine.config import RUN_PARAMS, TrainConfig
from trainpad.engine.python_source import parse_python

if TYPE_CHECKING:
    from trainpad.engine.engine import Engine
    from trainpad.engine.registry import Component

#: Top-level modules an exported script may import besides the standard library.
ALLOWED_PACKAGES = frozenset({"torch", "torchvision"})
#: The script's skeleton (:mod:`trainpad.engine.script_template`), read as text: importing it
#: would import torch.
TEMPLATE = Path(__file__).with_name("script_template.py")
_HEADING = re.compile(r"^# -- (.+?) -+$", re.MULTILINE)


@functools.cache
@functools.lru_cache(maxsize=1)
def template_source() -> str:
    """The text of the script's skeleton, :mod:`trainpad.engine.script_template` (read once: the
    loop view reads it at every update of a training run)."""
    return TEMPLATE.read_text(encoding="utf-8")


def template_section(title: str) -> str:
    """The skeleton's section headed ``# -- title ---``: from that line to the next heading.

    :raises KeyError: the skeleton has no such section.
    """
    source = template_source()
    for found in _HEADING.finditer(source):
        if found.group(1) == title:
            after = _HEADING.search(source, found.end())
            return source[found.start() : after.start() if after else len(source)]
    raise KeyError(f"the script's skeleton has no section {title!r}")


@functools.lru_cache(maxsize=1)
def template_tree() -> ast.Module:
    """The skeleton, parsed (once: it is read at every update of a loop view).  Read it, never change it."""
    return parse_python(template_source())


def template_value(name: str) -> Any:
    """The value the skeleton assigns to the top-level ``name`` (a literal), read without running it."""
    for node in template_tree().body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise KeyError(f"the script's skeleton assigns no {name!r}")


def _template_names() -> frozenset[str]:
    """The names the skeleton binds at its top level: its imports, settings, functions and classes."""
    names: set[str] = set()
    for node in template_tree().body:
        if isinstance(node, (ast.Import, ast.ImportFrom)) and getattr(node, "module", None) != "__future__":
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(n.id for target in node.targets for n in ast.walk(target) if isinstance(n, ast.Name))
    return frozenset(names)


#: Names the script's own code defines (the skeleton's, and the pairing :func:`_factory_code`
#: may write); a component defining one of them cannot be written out.
SCRIPT_NAMES = _template_names() | {"log_softmax_first"}


class NotExportable(Exception):
    """A component's code cannot be written into a standalone script; the message says why."""


@dataclass(frozen=True)
class ExportedScript:
    """A run as a standalone script.

    :param source: the Python source.
    :param filename: a file name for it (``train_mnist_cnn_on_mnist.py``).
    :param missing: one line per component that could not be written out, saying why and which
        function of the script to fill in (its stub raises NotImplementedError until then).
    """

    source: str
    filename: str
    missing: tuple[str, ...] = ()


def export_script(
    engine: "Engine", config: TrainConfig, *, run_params: tuple = RUN_PARAMS, data_dir: str | None = None
) -> ExportedScript:
    """``config``'s run as a standalone script (see the module's docstring).

    :param data_dir: the script's default data folder (``data``, beside where it runs, if not given).

    :raises trainpad.engine.errors.ConfigError: for settings that :meth:`Engine.build_run
        <trainpad.engine.engine.Engine.build_run>` would refuse.
    """
    config, parts, values = engine.check_config(config, run_params)
    dataset = parts["dataset"]
    meta = engine.dataset_meta(dataset)
    class_names = [str(name) for name in dataset.meta["class_names"]]
    script = _Script()
    missing: list[str] = []

    def section(component: "Component", builder: Callable[[_Script], str], stub: Callable[[str], str]) -> None:
        trial = script.copy()
        try:
            code = builder(trial)
        except NotExportable as exc:
            reason = str(exc)
            function = stub(reason).split("(", 1)[0].removeprefix("def ")  # load_split, build_model...
            missing.append(f"{component.label} ({_origin(engine, component)}): {reason}; fill in {function}() in the script")
            script.blocks.append(_heading(engine, component) + stub(reason))
            return
        script.adopt(trial)
        script.blocks.append(_heading(engine, component) + "".join(d + "\n\n" for d in trial.definitions) + code)

    section(dataset, lambda s: _dataset_code(s, dataset, values["dataset"]), lambda why: _dataset_stub(dataset, why))
    call = _call_args({"input_shape": tuple(meta["input_shape"]), "num_classes": len(class_names)}, values["model"])
    section(
        parts["model"],
        lambda s: _factory_code(s, parts["model"], "build_model() -> torch.nn.Module", call),
        lambda why: _stub(parts["model"], "build_model() -> torch.nn.Module", call, why),
    )
    call = _call_args({}, values["optimizer"], first="parameters")
    section(
        parts["optimizer"],
        lambda s: _factory_code(s, parts["optimizer"], "build_optimizer(parameters) -> torch.optim.Optimizer", call),
        lambda why: _stub(parts["optimizer"], "build_optimizer(parameters) -> torch.optim.Optimizer", call, why),
    )
    call = _call_args({}, values["loss"])
    # a model returning logits and a loss expecting log-probabilities: log_softmax between them, as build_run does
    log_softmax_first = parts["model"].meta.get("output", "logits") == "logits" and parts["loss"].meta.get("expects", "logits") == "log_probs"
    section(
        parts["loss"],
        lambda s: _factory_code(s, parts["loss"], "build_loss()", call, log_softmax_first=log_softmax_first),
        lambda why: _stub(parts["loss"], "build_loss()", call, why),
    )
    callbacks = [c.name for c in engine.registry.components("callback")]
    filename = re.sub(r"[^0-9A-Za-z]+", "_", f"train_{config.model}_on_{config.dataset}").strip("_") + ".py"
    source = _assemble(config, meta, class_names, script, missing, callbacks, values, filename, str(data_dir or "data"))
    return ExportedScript(source, filename, tuple(missing))


# -- writing out a component's code ------------------------------------------------------


@dataclass
class _Script:
    """What the components' code needs at the top of the script: imports and definitions."""

    imports: list[str] = field(default_factory=list)
    #: top-level name -> the object it holds (what the component's module bound to it)
    names: dict[str, Any] = field(default_factory=dict)
    definitions: list[str] = field(default_factory=list)
    blocks: list[str] = field(default_factory=list)
    #: names the script's own code defines, which a component may not define again
    reserved: frozenset[str] = SCRIPT_NAMES
    #: what a component may import from trainpad: the script defines these itself, the same way
    own: frozenset[str] = frozenset({"InMemoryDataset"})

    def copy(self) -> "_Script":
        return _Script(list(self.imports), dict(self.names), [], [], self.reserved, self.own)

    def adopt(self, trial: "_Script") -> None:
        """Take the imports and names a component's trial added (it wrote out without an error);
        its definitions go into the component's own section."""
        self.imports, self.names = trial.imports, trial.names

    def bind(self, name: str, value: Any, owner: str) -> bool:
        """Claim top-level ``name`` for ``value``; False when it is already there (nothing to add)."""
        if name in self.names:
            if self.names[name] is value or _same_literal(self.names[name], value):
                return False
            raise NotExportable(f"its {name!r} clashes with another {name!r} in the script ({owner})")
        if name in self.reserved:
            if _script_binds(name, value):  # the script imports the same thing under that name
                return False
            raise NotExportable(f"it defines {name!r}, a name the script itself uses")
        self.names[name] = value
        return True

    def add_import(self, line: str) -> None:
        if line not in self.imports:
            self.imports.append(line)

    def include(self, obj: Any) -> str:
        """Write out a function or class from a plugin's module, with what it uses; returns its name."""
        name = getattr(obj, "__name__", None)
        if name == "<lambda>":
            raise NotExportable("it is a lambda, whose source cannot be told apart from the line around it")
        qualname = getattr(obj, "__qualname__", name)
        if not isinstance(obj, (types.FunctionType, type)) or "<locals>" in (qualname or ""):
            raise NotExportable(f"{qualname or obj!r} is not a function or class defined at the top of a module")
        try:
            source = textwrap.dedent(inspect.getsource(obj))
        except (OSError, TypeError) as exc:
            raise NotExportable(f"the source of {qualname} is not available ({exc})") from None
        if not self.bind(name, obj, qualname):
            return name
        module = sys.modules.get(obj.__module__)
        namespace = vars(module) if module is not None else getattr(obj, "__globals__", {})
        tree = parse_python(source)
        provided: set[str] = set()
        for node in ast.walk(tree):
            if _imports_script_own(node, self.own):  # the script defines its own InMemoryDataset, the same way
                provided.update(alias.name for alias in node.names)
                lines = source.splitlines(keepends=True)
                source = "".join(lines[: node.lineno - 1] + ["\n" * (node.end_lineno - node.lineno + 1)] + lines[node.end_lineno :])
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                self._check_import(node, qualname)
        if provided:
            source = re.sub(r"\n(?:[ \t]*\n){2,}", "\n\n", source)  # no gap left where those imports were
        for used in sorted(_free_names(source) - {name} - provided):
            self._need(used, namespace, obj, qualname)
        self.definitions.append(source.rstrip() + "\n")  # after what it uses
        return name

    def _check_import(self, node: ast.Import | ast.ImportFrom, where: str) -> None:
        if isinstance(node, ast.ImportFrom) and node.level:
            raise NotExportable(f"{where} imports from its own package (a relative import)")
        modules = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        for module in modules:
            if not _allowed(module):
                raise NotExportable(f"{where} imports {module}; the script may use only torch, torchvision and Python's standard library")

    def _need(self, name: str, namespace: dict[str, Any], owner: Any, where: str) -> None:
        """Make the global ``name`` that ``owner``'s code reads exist in the script."""
        if name in self.own:  # the script defines it itself
            return
        if name not in namespace:
            if hasattr(builtins, name):
                return
            raise NotExportable(f"{where} uses {name!r}, which its module does not define")
        value = namespace[name]
        if isinstance(value, types.ModuleType):
            module = value.__name__
            if not _allowed(module):
                raise NotExportable(f"{where} uses the module {module}; the script may use only torch, torchvision and Python's standard library")
            if self.bind(name, value, where):
                if module == name:
                    self.add_import(f"import {module}")
                elif module.rsplit(".", 1)[-1] == name:
                    self.add_import(f"from {module.rsplit('.', 1)[0]} import {name}")
                else:
                    self.add_import(f"import {module} as {name}")
            return
        if isinstance(value, (types.FunctionType, type)):
            home = getattr(value, "__module__", "") or ""
            if _same_home(home, getattr(owner, "__module__", "") or "") and not _allowed(home):
                if getattr(value, "__name__", None) != name:
                    raise NotExportable(f"{where} uses {name!r}, another name for {value.__qualname__}")
                self.include(value)
                return
        if callable(value) and not _is_literal(value):
            home = getattr(value, "__module__", None) or ""
            qualname = getattr(value, "__qualname__", "")
            if home and _allowed(home) and "." not in qualname and _resolves(home, qualname, value):
                if self.bind(name, value, where):
                    alias = "" if qualname == name else f" as {name}"
                    self.add_import(f"from {home} import {qualname}{alias}")
                return
            raise NotExportable(f"{where} uses {name!r} ({type(value).__name__} from {home or 'nowhere'}), which is not torch, torchvision or the standard library")
        if _is_literal(value):
            if self.bind(name, value, where):
                self.definitions.append(f"{name} = {value!r}\n")
            return
        raise NotExportable(f"{where} uses {name!r}, a {type(value).__name__} that cannot be written as Python source")


def _factory_code(script: _Script, component: "Component", signature: str, call: str, *, log_softmax_first: bool = False) -> str:
    """The builder function calling the component's factory, its source written out above it.

    :param log_softmax_first: the builder's loss is given the log-probabilities of the model's
        logits (``log_softmax_first``, written out before the builder).
    """
    name = script.include(component.factory)
    builder, args = signature.split("(", 1)
    if not log_softmax_first:
        return f"def {builder}({args}:\n    return {name}({call})\n"
    return _LOG_SOFTMAX_FIRST + f"\n\ndef {builder}({args}:\n    return log_softmax_first({name}({call}))\n"


_LOG_SOFTMAX_FIRST = '''def log_softmax_first(loss_fn):
    """MODEL returns logits and LOSS expects log-probabilities: log_softmax goes between them, as in trainpad."""
    return lambda output, target: loss_fn(output.log_softmax(dim=1), target)
'''


def _stub(component: "Component", signature: str, call: str, reason: str) -> str:
    builder, args = signature.split("(", 1)
    message = f"{component.label} could not be written out: {reason}"
    return (
        f"def {builder}({args}:\n"
        f"    # {_wrap_comment(message, 4)}\n"
        f"    # Put its code here: trainpad calls its factory with {call}.\n"
        f"    raise NotImplementedError({message!r})\n"
    )


def _dataset_code(script: _Script, dataset: "Component", params: dict[str, Any]) -> str:
    torchvision_name = dataset.meta.get("torchvision")
    if torchvision_name:
        if not isinstance(torchvision_name, str) or not torchvision_name.isidentifier():
            raise NotExportable(f"its torchvision={torchvision_name!r} is not the name of a torchvision.datasets class")
        # ``shift`` is InMemoryDataset's augmentation (the built-in datasets' hyperparameter), not torchvision's
        shift = params.get("shift", 0)
        extra = "".join(f", {key}={value!r}" for key, value in params.items() if key != "shift")
        return (
            "def load_split(root: Path, *, train: bool) -> Dataset:\n"
            f'    """The training or test split of torchvision.datasets.{torchvision_name}, held in memory."""\n'
            "    import torchvision\n\n"
            f"    data = torchvision.datasets.{torchvision_name}(root, train=train, download=True{extra})\n"
            "    images = torch.as_tensor(data.data)\n"
            "    if images.dim() == 4 and images.shape[-1] in (1, 3):  # (N, H, W, C), as CIFAR keeps it\n"
            "        images = images.permute(0, 3, 1, 2)\n"
            "    return InMemoryDataset(images, torch.as_tensor(data.targets), mean=DATA_MEAN, std=DATA_STD"
            + (f", shift={shift!r} if train else 0" if shift else "")
            + ")\n"
        )
    name = script.include(dataset.factory)
    return (
        "def load_split(root: Path, *, train: bool) -> Dataset:\n"
        f"    return {name}({_call_args({'root': _Code('root'), 'train': _Code('train')}, params)})\n"
    )


def _dataset_stub(dataset: "Component", reason: str) -> str:
    message = f"{dataset.label} could not be written out: {reason}"
    return (
        "def load_split(root: Path, *, train: bool) -> Dataset:\n"
        f"    # {_wrap_comment(message, 4)}\n"
        "    # Return its training or test split here: a Dataset of (normalised image, label) pairs.\n"
        f"    raise NotImplementedError({message!r})\n"
    )


# -- the script around them ----------------------------------------------------------------


def _assemble(
    config: TrainConfig,
    meta: dict[str, Any],
    class_names: list[str],
    script: _Script,
    missing: list[str],
    callbacks: list[str],
    values: dict[str, dict[str, Any]],
    filename: str,
    data_dir: str,
) -> str:
    """The script: its docstring and imports, then the skeleton's sections with the run's
    settings and components put in (see :mod:`trainpad.engine.script_template`)."""
    parts = [
        _docstring(config, script, missing, callbacks, values, filename),
        "\n\n" + _settings(config, meta, class_names, data_dir),
        "\n\n" + template_section("the data"),
        "\n\n" + template_section("the batches"),
    ]
    for block in script.blocks:
        parts.append("\n\n" + block)
    parts.append("\n\n\n" + template_section("training"))
    text = "".join(parts)
    return re.sub(r"\n{4,}", "\n\n\n", text)


def _docstring(
    config: TrainConfig, script: _Script, missing: list[str], callbacks: list[str], values: dict[str, dict[str, Any]], filename: str
) -> str:
    """The script's first lines: what it trains and how to run it, then its imports."""
    recipe = f"{config.model} on {config.dataset} with {config.optimizer} and {config.loss}"
    notes = ""
    needs = "It needs only torch and torchvision"
    if missing:
        needs = "It is not complete: fill in what is listed below first; then it needs only torch and torchvision"
        notes += "\nWhat could not be written out raises NotImplementedError where it is used:\n\n"
        notes += "".join(f"* {textwrap.fill(line, 88, subsequent_indent='  ')}\n" for line in missing)
    if callbacks:
        notes += (
            f"\ntrainpad's callbacks ({', '.join(callbacks)}) watch a run without changing it; "
            "they are not part of this script.\n"
        )
    intro = textwrap.fill(
        f"Written by trainpad {__version__}.  {needs}, and trains with the same components, hyperparameters, "
        "seed and data order as trainpad's run, so on the CPU its losses match trainpad's step for step.  "
        "The loop in main() is the one PyTorch teaches.",
        92,
    )
    component_imports = "".join(f"{line}\n" for line in script.imports if line not in _HEADER_IMPORTS)
    hyper = "; ".join(
        f"{kind} {getattr(config, kind)}: " + (", ".join(f"{k}={v!r}" for k, v in values[kind].items()) or "no hyperparameters")
        for kind in ("dataset", "model", "optimizer", "loss")
    )
    return f'''#!/usr/bin/env python3
"""Train {recipe}: trainpad's run as plain PyTorch.

{intro}

    python {filename}                 # data in ./data, downloaded when missing
    python {filename} --data-dir ~/data --device cpu --log-every 10

{_docstring_text(textwrap.fill(hyper, 88))}.
{_docstring_text(notes)}"""

from __future__ import annotations

''' + "".join(f"{line}\n" for line in _HEADER_IMPORTS) + (f"\n{component_imports}" if component_imports else "")


def _settings(config: TrainConfig, meta: dict[str, Any], class_names: list[str], data_dir: str) -> str:
    """The skeleton's settings with the run's values (``LOG_EVERY`` keeps the skeleton's)."""
    return _filled(
        template_section("the run's settings"),
        {
            "DATASET, MODEL, OPTIMIZER, LOSS": f"{config.dataset!r}, {config.model!r}, {config.optimizer!r}, {config.loss!r}",
            "SEED": repr(config.seed),
            "EPOCHS": repr(config.epochs),
            "BATCH_SIZE": repr(config.batch_size),
            "SCHEDULE": repr(config.schedule),
            "TRAIN_SAMPLES": repr(config.train_samples),
            "TEST_SAMPLES": repr(config.test_samples),
            "DEVICE": repr(config.device),
            "DATA_DIR": repr(data_dir),
            "CLASS_NAMES": repr(class_names),
            "INPUT_SHAPE": repr(tuple(meta["input_shape"])),
            "DATA_MEAN, DATA_STD": f"{tuple(meta['mean'])!r}, {tuple(meta['std'])!r}",
        },
    )


def _filled(section: str, values: dict[str, str]) -> str:
    """``section`` with the value of each assignment named in ``values`` (its targets as
    written: ``"SEED"``, ``"DATA_MEAN, DATA_STD"``) replaced by the source given for it;
    its comment stays.

    :raises KeyError: ``section`` assigns no such targets.
    """
    lines = section.splitlines(keepends=True)
    todo = dict(values)
    for node in parse_python(section).body:
        target = ast.get_source_segment(section, node.targets[0]) if isinstance(node, ast.Assign) else None
        if target in todo:
            line = lines[node.lineno - 1].encode()  # the offsets count bytes
            start, end = node.value.col_offset, node.value.end_col_offset
            lines[node.lineno - 1] = (line[:start] + todo.pop(target).encode() + line[end:]).decode()
    if todo:
        raise KeyError(f"the script's skeleton has no setting {', '.join(todo)}")
    return "".join(lines)


def _header_imports() -> tuple[str, ...]:
    """The skeleton's import lines (a blank one between the standard library's and torch's)."""
    header = template_source()[: _HEADING.search(template_source()).start()]
    return tuple(header.split("from __future__ import annotations\n", 1)[1].strip().splitlines())


#: The script's own imports, and its data section (which a Lab experiment's script uses too).
_HEADER_IMPORTS = _header_imports()
_DATASET_CODE = "\n\n" + template_section("the data")


# -- helpers -------------------------------------------------------------------------------


class _Code(str):
    """Source text to put into a call as it is (not as a literal)."""

    def __repr__(self) -> str:
        return str(self)


def _call_args(context: dict[str, Any], params: dict[str, Any], *, first: str | None = None) -> str:
    args = [first] if first else []
    args += [f"{key}={value!r}" for key, value in {**context, **params}.items()]
    return ", ".join(args)


def _heading(engine: "Engine", component: "Component") -> str:
    title = f"# -- {component.kind} {component.name} ({_origin(engine, component)}) "
    lines = [title + "-" * max(4, 88 - len(title))]
    if component.description:
        lines.append(f"# {_wrap_comment(component.description, 0)}")
    return "\n".join(lines) + "\n\n"


def _docstring_text(text: str) -> str:
    """``text`` safe inside a triple-quoted docstring (a plugin's string could hold quotes)."""
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


def _origin(engine: "Engine", component: "Component") -> str:
    info = engine.plugins.get(component.plugin)
    if info is not None and info.builtin:
        return f"trainpad's built-in plugin {component.plugin}"
    if info is not None and getattr(info, "dist", None):
        return f"plugin {component.plugin}, from {info.dist} {info.version or ''}".rstrip()
    return f"plugin {component.plugin}"


def _wrap_comment(text: str, indent: int) -> str:
    return textwrap.fill(" ".join(text.split()), 88 - indent - 2).replace("\n", "\n" + " " * indent + "# ")


def _free_names(source: str) -> set[str]:
    """The global names that ``source`` (a def or class statement) reads, at any depth."""
    top = symtable.symtable(source, "<component>", "exec")
    bound = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported()}
    found: set[str] = set()

    def walk(table: symtable.SymbolTable, is_top: bool) -> None:
        for sym in table.get_symbols():
            if not sym.is_referenced():
                continue
            if is_top or sym.is_global():
                found.add(sym.get_name())
        for child in table.get_children():
            walk(child, False)

    walk(top, True)
    return found - bound


#: What the script's own imports bind, by name: the module (or the module a class lives under).
_SCRIPT_IMPORTS = {
    "argparse": "argparse", "math": "math", "time": "time", "torch": "torch", "Path": "pathlib",
    "BatchSampler": "torch.utils.data", "DataLoader": "torch.utils.data", "Dataset": "torch.utils.data",
    "RandomSampler": "torch.utils.data", "SequentialSampler": "torch.utils.data", "Subset": "torch.utils.data",
    # and those of a Lab experiment's script (trainpad.engine.lab.script), which carries trainpad.engine.lab.kit
    "json": "json", "ast": "ast", "inspect": "inspect", "re": "re", "textwrap": "textwrap", "weakref": "weakref",
    "nn": "torch.nn", "TensorDataset": "torch.utils.data", "TorchDispatchMode": "torch.utils._python_dispatch",
    "tree_leaves": "torch.utils._pytree", "asdict": "dataclasses", "dataclass": "dataclasses", "field": "dataclasses",
    "Any": "typing",
}  # fmt: skip


def _imports_script_own(node: ast.AST, own: frozenset[str]) -> bool:
    """``from trainpad import InMemoryDataset`` (names of ``own``, and nothing else from trainpad)."""
    return (
        isinstance(node, ast.ImportFrom)
        and node.module in ("trainpad", "trainpad.engine.data", "trainpad.engine.lab.kit")
        and all(alias.name in own and alias.asname is None for alias in node.names)
    )


def _script_binds(name: str, value: Any) -> bool:
    home = _SCRIPT_IMPORTS.get(name)
    if home is None:
        return False
    if isinstance(value, types.ModuleType):
        return value.__name__ == home
    return getattr(value, "__name__", None) == name and (getattr(value, "__module__", "") or "").startswith(home)


def _allowed(module: str) -> bool:
    root = module.split(".")[0]
    return root in ALLOWED_PACKAGES or root in sys.stdlib_module_names


def _same_home(home: str, owner: str) -> bool:
    """Whether code from module ``home`` is written out beside code from module ``owner``:
    the same module, or the same plugin package (trainpad's own modules never are)."""
    root = owner.split(".")[0]
    return home == owner or (home.split(".")[0] == root and root != "trainpad")


def _resolves(module: str, name: str, value: Any) -> bool:
    try:
        return getattr(importlib.import_module(module), name) is value
    except Exception:
        return False


def _is_literal(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
        return True
    if isinstance(value, (tuple, list, set, frozenset)):
        return all(_is_literal(item) for item in value)
    if isinstance(value, dict):
        return all(_is_literal(k) and _is_literal(v) for k, v in value.items())
    return False


def _same_literal(a: Any, b: Any) -> bool:
    return _is_literal(a) and _is_literal(b) and type(a) is type(b) and a == b


__all__ = ["ExportedScript", "NotExportable", "export_script", "ALLOWED_PACKAGES"]
