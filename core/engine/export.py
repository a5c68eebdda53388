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
import importlib
import inspect
import re
import symtable
import sys
import textwrap
import types
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from trainpad.engine.config import RUN_PARAMS, TrainConfig

if TYPE_CHECKING:
    from trainpad.engine.engine import Engine
    from trainpad.engine.registry import Component

#: Top-level modules an exported script may import besides the standard library.
ALLOWED_PACKAGES = frozenset({"torch", "torchvision"})
#: Names the script's own code defines; a component defining one of them cannot be written out.
SCRIPT_NAMES = frozenset(
    {
        "argparse", "math", "time", "Path", "torch", "BatchSampler", "DataLoader", "Dataset", "RandomSampler",
        "SequentialSampler", "Subset", "SEED", "EPOCHS", "BATCH_SIZE", "SCHEDULE", "TRAIN_SAMPLES", "TEST_SAMPLES",
        "DEVICE", "DATA_DIR", "LOG_EVERY", "DATASET", "MODEL", "OPTIMIZER", "LOSS", "CLASS_NAMES", "INPUT_SHAPE",
        "DATA_MEAN", "DATA_STD", "InMemoryDataset", "load_split", "first", "build_model", "build_optimizer",
        "build_loss", "make_loader", "make_scheduler", "pick_device", "evaluate", "main", "random_shift",
    }
)  # fmt: skip
#: Steps between two printed losses, by default.
LOG_EVERY = 50


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
    section(
        parts["loss"],
        lambda s: _factory_code(s, parts["loss"], "build_loss()", call),
        lambda why: _stub(parts["loss"], "build_loss()", call, why),
    )
    callbacks = [c.name for c in engine.registry.components("callback")]
    filename = re.sub(r"[^0-9A-Za-z]+", "_", f"train_{config.model}_on_{config.dataset}").strip("_") + ".py"
    # a model returning logits and a loss expecting log-probabilities: log_softmax between them, as build_run does
    log_softmax_first = parts["model"].meta.get("output", "logits") == "logits" and parts["loss"].meta.get("expects", "logits") == "log_probs"
    source = _assemble(
        config, meta, class_names, script, missing, callbacks, values, filename, str(data_dir or "data"), log_softmax_first=log_softmax_first
    )
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
        tree = ast.parse(source)
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


def _factory_code(script: _Script, component: "Component", signature: str, call: str) -> str:
    """The builder function calling the component's factory, its source written out above it."""
    name = script.include(component.factory)
    builder, args = signature.split("(", 1)
    return f"def {builder}({args}:\n    return {name}({call})\n"


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
    *,
    log_softmax_first: bool = False,
) -> str:
    from trainpad import __version__

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
    parts = [
        f'''#!/usr/bin/env python3
"""Train {recipe}: trainpad's run as plain PyTorch.

{intro}

    python {filename}                 # data in ./data, downloaded when missing
    python {filename} --data-dir ~/data --device cpu --log-every 10

{_docstring_text(textwrap.fill(hyper, 88))}.
{_docstring_text(notes)}"""

from __future__ import annotations

''' + "".join(f"{line}\n" for line in _HEADER_IMPORTS) + (f"\n{component_imports}" if component_imports else ""),
        f'''
# -- the run's settings -----------------------------------------------------------------

DATASET, MODEL, OPTIMIZER, LOSS = {config.dataset!r}, {config.model!r}, {config.optimizer!r}, {config.loss!r}
SEED = {config.seed!r}  # the initial weights and dropout (torch.manual_seed), and the order of the samples
EPOCHS = {config.epochs!r}
BATCH_SIZE = {config.batch_size!r}
SCHEDULE = {config.schedule!r}  # the learning rate over the run: {_SCHEDULE_TEXT.get(config.schedule, config.schedule)}
TRAIN_SAMPLES = {config.train_samples!r}  # train on the first N samples only (0: all)
TEST_SAMPLES = {config.test_samples!r}  # evaluate on the first N test samples only (0: all)
DEVICE = {config.device!r}  # auto: CUDA, else MPS, else the CPU
DATA_DIR = {data_dir!r}
LOG_EVERY = {LOG_EVERY}

CLASS_NAMES = {class_names!r}
INPUT_SHAPE = {tuple(meta["input_shape"])!r}  # channels, height, width
DATA_MEAN, DATA_STD = {tuple(meta["mean"])!r}, {tuple(meta["std"])!r}  # of the training pixels, scaled to 0..1
''',
        _DATA_CODE,
    ]
    for block in script.blocks:
        parts.append("\n\n" + block)
    parts.append(_loop_code(config, log_softmax_first=log_softmax_first))
    text = "".join(parts)
    return re.sub(r"\n{4,}", "\n\n\n", text)


_SCHEDULE_TEXT = {
    "onecycle": "up to the optimizer's lr in the first quarter, then down (OneCycleLR)",
    "cosine": "from the optimizer's lr down to 0 along a cosine (CosineAnnealingLR)",
    "constant": "the optimizer's lr throughout",
}

_HEADER_IMPORTS = (
    "import argparse",
    "import math",
    "import time",
    "from pathlib import Path",
    "",
    "import torch",
    "from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler, Subset",
)

_DATASET_CODE = '''

# -- the data ---------------------------------------------------------------------------


def random_shift(images: torch.Tensor, shift: int) -> torch.Tensor:
    """Each image of a (N, C, H, W) batch moved by its own random offset of up to ``shift``
    pixels along each axis (what comes in is 0): augmentation."""
    n, _, height, width = images.shape
    padded = torch.nn.functional.pad(images, (shift, shift, shift, shift))
    dy, dx = torch.randint(0, 2 * shift + 1, (2, n, 1))
    rows = (dy + torch.arange(height)).view(n, height, 1)
    cols = (dx + torch.arange(width)).view(n, 1, width)
    moved = padded.permute(0, 2, 3, 1)[torch.arange(n).view(n, 1, 1), rows, cols]
    return moved.permute(0, 3, 1, 2)


class InMemoryDataset(Dataset):
    """A split held in memory as uint8 pixels, read a whole batch at a time.

    Each batch is scaled to 0..1 and normalised with the mean and standard deviation of the
    training pixels, as transforms.ToTensor() and transforms.Normalize() would do per image;
    with ``shift``, each image is first moved at random by up to that many pixels.
    """

    def __init__(self, images: torch.Tensor, targets: torch.Tensor, *, mean, std, shift: int = 0) -> None:
        if images.dim() == 3:
            images = images.unsqueeze(1)  # (N, H, W) -> (N, 1, H, W)
        self.images, self.targets = images.contiguous(), targets.long()
        channels = images.shape[1]
        std_t = torch.tensor(std, dtype=torch.float32).expand(channels)
        mean_t = torch.tensor(mean, dtype=torch.float32).expand(channels)
        self.scale = (1.0 / (255.0 * std_t)).view(1, -1, 1, 1)  # x / 255, then (x - mean) / std, in one step
        self.offset = (-mean_t / std_t).view(1, -1, 1, 1)
        self.shift = shift

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, indices):
        indices = torch.as_tensor(indices)  # a list of indices: the whole batch
        x = self.images.index_select(0, indices)
        if self.shift:
            x = random_shift(x, self.shift)
        return x.to(torch.float32).mul_(self.scale).add_(self.offset), self.targets.index_select(0, indices)
'''

_LOADER_CODE = '''

def first(dataset: Dataset, count: int) -> Dataset:
    """The first ``count`` samples of ``dataset`` (all of them for 0)."""
    if not count or count >= len(dataset):
        return dataset
    if isinstance(dataset, InMemoryDataset):
        part = InMemoryDataset.__new__(InMemoryDataset)
        part.__dict__.update(dataset.__dict__)
        part.images, part.targets = dataset.images[:count], dataset.targets[:count]
        return part
    return Subset(dataset, range(count))


def make_loader(dataset: Dataset, *, batch_size: int, shuffle: bool, generator=None, pin_memory=False) -> DataLoader:
    """Batches of (images, labels): shuffled by ``generator`` for training, in order for testing.

    An InMemoryDataset is read a batch at a time (the sampler hands it lists of indices).
    The test loader gets a generator of its own: each pass over a DataLoader draws a number
    from its generator (else from torch's global one), and evaluating must not change the
    dropout of the epochs that follow.
    """
    sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
    own = None if shuffle else torch.Generator()
    if isinstance(dataset, InMemoryDataset):
        return DataLoader(dataset, sampler=BatchSampler(sampler, batch_size, drop_last=False), batch_size=None,
                          pin_memory=pin_memory, generator=own)
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, pin_memory=pin_memory, generator=own)
'''
#: The script's data section: the dataset held in memory, then the loaders.
_DATA_CODE = _DATASET_CODE + _LOADER_CODE



def _loop_code(config: TrainConfig, *, log_softmax_first: bool = False) -> str:
    if config.schedule == "onecycle":
        scheduler = '''def make_scheduler(optimizer: torch.optim.Optimizer, total_steps: int):
    """One cycle: the learning rate climbs to the optimizer's lr in the first quarter of the run, then falls."""
    if total_steps < 8:  # too short for a warm-up: trainpad keeps the learning rate as it is
        return None
    max_lr = [group["lr"] for group in optimizer.param_groups]
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=max_lr, total_steps=total_steps, pct_start=0.25, cycle_momentum=False
    )
'''
    elif config.schedule == "cosine":
        scheduler = '''def make_scheduler(optimizer: torch.optim.Optimizer, total_steps: int):
    """Cosine: the learning rate falls from the optimizer's lr to 0 along half a cosine."""
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(total_steps, 1))
'''
    else:
        scheduler = '''def make_scheduler(optimizer: torch.optim.Optimizer, total_steps: int):
    """Constant: the optimizer's learning rate throughout (no scheduler)."""
    return None
'''
    pairing = ""
    if log_softmax_first:
        pairing = '''
    # MODEL returns logits and LOSS expects log-probabilities: log_softmax goes between them, as in trainpad
    base_loss = loss_fn
    loss_fn = lambda output, target: base_loss(output.log_softmax(dim=1), target)  # noqa: E731'''
    return '''

# -- training ---------------------------------------------------------------------------


''' + scheduler + '''

def pick_device(name: str) -> torch.device:
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def evaluate(model: torch.nn.Module, loader: DataLoader, loss_fn, device: torch.device) -> tuple[float, float]:
    """The model's mean loss and accuracy over ``loader``, in eval mode with autograd off."""
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    with torch.inference_mode():
        for x, y in loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            output = model(x)
            total_loss += float(loss_fn(output, y)) * len(y)
            correct += int((output.argmax(dim=1) == y).sum())
            count += len(y)
    return total_loss / max(count, 1), correct / max(count, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path(DATA_DIR), help="where the data is (default: %(default)s)")
    parser.add_argument("--device", default=DEVICE, help="auto, cpu, cuda or mps (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="passes over the training data (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=0, help="stop after this many steps, for a quick check (default: no limit)")
    parser.add_argument("--log-every", type=int, default=LOG_EVERY, help="print the loss every N steps (default: %(default)s)")
    parser.add_argument("--save", type=Path, default=None, help="save the trained weights (a state_dict) to this file")
    args = parser.parse_args()
    device = pick_device(args.device)

    train_set = first(load_split(args.data_dir, train=True), TRAIN_SAMPLES)
    test_set = first(load_split(args.data_dir, train=False), TEST_SAMPLES)

    torch.manual_seed(SEED)  # the initial weights, then dropout
    generator = torch.Generator().manual_seed(SEED)  # the order of the training samples
    model = build_model().to(device)
    optimizer = build_optimizer(model.parameters())
    loss_fn = build_loss()''' + pairing + '''
    pin = device.type == "cuda"
    train_loader = make_loader(train_set, batch_size=BATCH_SIZE, shuffle=True, generator=generator, pin_memory=pin)
    test_loader = make_loader(test_set, batch_size=1000, shuffle=False, pin_memory=pin)
    total_steps = len(train_loader) * args.epochs
    scheduler = make_scheduler(optimizer, total_steps)
    too_high = 10 * math.log(max(len(CLASS_NAMES), 2))  # ten times the loss of a uniform guess: diverged
    print(f"training {MODEL} on {DATASET} ({len(train_set):,} samples) with {OPTIMIZER} and {LOSS}: "
          f"{args.epochs} epoch(s) of {len(train_loader)} steps, batch {BATCH_SIZE}, device {device}", flush=True)

    step = 0
    started = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        model.train()
        for x, y in train_loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            optimizer.zero_grad(set_to_none=True)
            output = model(x)
            loss = loss_fn(output, y)
            loss_value = loss.item()
            if not math.isfinite(loss_value) or loss_value > too_high:
                raise SystemExit(f"training diverged at step {step + 1}: the loss is {loss_value:.3g}; lower the learning rate")
            loss.backward()
            optimizer.step()
            lr = optimizer.param_groups[0]["lr"]  # the learning rate this step used
            if scheduler is not None:
                scheduler.step()
            step += 1
            if step % args.log_every == 0 or step == total_steps:
                print(f"epoch {epoch} step {step}/{total_steps} loss {loss_value:.6f} lr {lr:.6g}", flush=True)
            if args.steps and step >= args.steps:
                break
        test_loss, test_accuracy = evaluate(model, test_loader, loss_fn, device)
        print(f"epoch {epoch}: test loss {test_loss:.4f}, test accuracy {test_accuracy:.2%} "
              f"({time.perf_counter() - started:.1f} s)", flush=True)
        if args.steps and step >= args.steps:
            break
    if args.save is not None:
        torch.save(model.state_dict(), args.save)
        print(f"saved the weights to {args.save}")


if __name__ == "__main__":
    main()
'''


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
