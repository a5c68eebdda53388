"""A Lab experiment written out as plain PyTorch: one script that runs it and prints what it measured.

:func:`export_experiment` writes a Python file that needs only torch, torchvision and the
standard library, and runs exactly what the Lab runs: the Lab's kit
(:mod:`trainpad.engine.lab.kit` and :mod:`trainpad.engine.lab.recipe`, carried as they are), the same samples of the same dataset
(written out as a run's script writes its dataset, :mod:`trainpad.engine.export`), and the
experiment's own code (its function with the helpers and constants it uses).  On the CPU
it prints the figures ``trainpad lab NAME --json`` prints, timings aside.  An experiment on
a picture carries the picture and the first convolution's weights as numbers.

Nothing here imports torch, apart from reading the numbers of a picture experiment's input.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from typing import TYPE_CHECKING, Any

from trainpad import __version__
from trainpad.engine import message
from trainpad.engine.export import ExportedScript, NotExportable, _DATASET_CODE, _HEADER_IMPORTS, _dataset_code, _dataset_stub, _Script
from trainpad.engine.lab import kit
from trainpad.engine.python_source import parse_python

if TYPE_CHECKING:
    from trainpad.engine.engine import Engine
    from trainpad.engine.lab.runner import Prepared

#: trainpad's errors an experiment may raise (a value it cannot use): the script defines its own.
SCRIPT_ERRORS = frozenset({"TrainpadError", "ConfigError"})
ERRORS_CODE = '''

class TrainpadError(Exception):
    """What trainpad raises for something a person can fix; the message says what."""


class ConfigError(TrainpadError, ValueError):
    """A value the experiment cannot use (a filter it does not have, say)."""
'''
#: Names the script's own code defines besides the kit's (its settings, its data, its main).
OWN_NAMES = frozenset(
    {"EXPERIMENT", "SEED", "PARAMS", "SAMPLES", "DATASET", "CLASS_NAMES", "INPUT_SHAPE", "DATA_MEAN", "DATA_STD", "DATA_DIR",
     "PICTURE", "CONV", "random_shift", "InMemoryDataset", "load_split", "lab_input", "show", "main"}
)  # fmt: skip


def export_experiment(engine: "Engine", prepared: "Prepared", *, data_dir: str | None = None) -> ExportedScript:
    """``prepared``'s experiment as a standalone script (see the module's docstring).

    :param data_dir: the script's default data folder (``data``, beside where it runs, if not given).
    """
    from trainpad.engine.lab import recipe  # torch: imported when a script is written

    experiment, lab = prepared.experiment, prepared.lab
    kit_imports, kit_code = _module_parts(inspect.getsource(kit))
    recipe_imports, recipe_code = _module_parts(inspect.getsource(recipe))
    message_imports, message_code = _module_parts(inspect.getsource(message))  # the findings are messages
    kit_imports += recipe_imports + message_imports
    kit_names = frozenset(kit.__all__) | frozenset(recipe.__all__) | frozenset(message.__all__) | SCRIPT_ERRORS
    header = _merged([*_HEADER_IMPORTS, *kit_imports, "import json"])
    script = _Script(reserved=OWN_NAMES | kit_names | _bound_by(header), own=kit_names)
    missing: list[str] = []
    data = ""
    if experiment.needs == "data":
        dataset = engine.component("dataset", lab.dataset)
        try:
            data = _dataset_code(script, dataset, {})
        except NotExportable as exc:
            missing.append(f"{dataset.label}: {exc}")
            data = _dataset_stub(dataset, str(exc))
    try:
        trial = script.copy()
        name = trial.include(prepared.component.factory)
        script.adopt(trial)
        code = "".join(d + "\n\n" for d in trial.definitions)
    except NotExportable as exc:
        missing.append(f"{prepared.component.label}: {exc}")
        name, code = "experiment", _stub(prepared, str(exc))
    filename = re.sub(r"[^0-9A-Za-z]+", "_", f"lab_{experiment.name}").strip("_") + ".py"
    meta = engine.dataset_meta(engine.component("dataset", lab.dataset)) if experiment.needs == "data" else {}
    notes = "".join(f"\n* {textwrap.fill(line, 88, subsequent_indent='  ')}" for line in missing)
    extra = [line for line in script.imports if line not in header]
    parts = [
        f'''#!/usr/bin/env python3
"""The Lab's experiment {experiment.name} ({experiment.title}), as plain PyTorch.

{textwrap.fill(f"Written by trainpad {__version__}.  {experiment.description}", 88)}

It needs only torch and torchvision, and runs what trainpad's Lab runs: the same samples,
seed, recipe and code, so on the CPU it prints the figures `trainpad lab {experiment.name} --json`
prints (timings aside).

    python {filename}            # {"data in ./data, downloaded when missing" if experiment.needs == "data" else "the picture and the weights are in the file"}
    python {filename} --json     # every figure, as JSON
{notes and chr(10) + "What could not be written out raises NotImplementedError where it is used:" + chr(10) + notes + chr(10)}"""

from __future__ import annotations

''' + "\n".join(header + extra) + "\n",
        _settings(experiment, prepared, meta, data_dir),
        "\n\n# -- messages (trainpad.engine.message, as it is) -----------------------------------------------\n\n\n" + message_code,
        "\n\n# -- the Lab's kit (trainpad.engine.lab.kit, as it is) ---------------------------------------\n\n\n" + kit_code + ERRORS_CODE,
        "\n\n# -- the Lab's recipe (trainpad.engine.lab.recipe, as it is) ---------------------------------\n\n\n" + recipe_code,
    ]
    if experiment.needs == "data":
        parts.append(_DATASET_CODE + "\n\n" + data)
    parts.append("\n\n# -- the experiment ---------------------------------------------------------------------\n\n\n" + code)
    parts.append(_main(name, experiment.needs))
    return ExportedScript(re.sub(r"\n{4,}", "\n\n\n", "".join(parts)), filename, tuple(missing))


def _module_parts(source: str) -> tuple[list[str], str]:
    """A module's import lines (``from __future__`` left out) and its code after them (``__all__`` left out)."""
    tree = parse_python(source)
    lines = source.splitlines(keepends=True)
    imports, start = [], 0
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and start == 0 and not imports:
            continue  # the docstring
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if (getattr(node, "module", None) or "") != "__future__" and not (getattr(node, "module", None) or "").startswith("trainpad"):
                imports.append(ast.get_source_segment(source, node))
            continue
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            continue  # names for annotations only
        start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", ()))]) - 1
        while start > 0 and lines[start - 1].startswith("#"):
            start -= 1
        break
    end = next((node.lineno - 1 for node in tree.body if isinstance(node, ast.Assign) and _assigns(node, "__all__")), len(lines))
    return imports, "".join(lines[start:end]).rstrip() + "\n"


def _assigns(node: ast.Assign, name: str) -> bool:
    return any(isinstance(target, ast.Name) and target.id == name for target in node.targets)


def _bound_by(imports: list[str]) -> frozenset[str]:
    """The names import lines bind."""
    names = set()
    for line in imports:
        for node in ast.walk(parse_python(line)):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return frozenset(names)


def _merged(lines: list[str]) -> list[str]:
    """Import lines, each module once (``from m import a`` and ``from m import b`` become one line),
    the standard library first, then torch, ``import x`` before ``from x import y`` in each."""
    plain: set[str] = set()
    names: dict[str, set[str]] = {}
    for line in filter(None, lines):
        node = parse_python(line).body[0]
        if isinstance(node, ast.ImportFrom):
            names.setdefault(node.module or "", set()).update(alias.name for alias in node.names)
        else:
            plain.update(alias.name for alias in node.names)
    found = [(m.split(".")[0] == "torch", 0, f"import {m}") for m in plain]
    found += [(m.split(".")[0] == "torch", 1, f"from {m} import {', '.join(sorted(n))}") for m, n in names.items()]
    ordered = sorted(found)
    return [line for _, _, line in ordered[: sum(1 for t, _, _ in ordered if not t)]] + [""] + [line for t, _, line in ordered if t]


def _literal(tensor: Any, digits: int = 9) -> str:
    """A tensor as a ``torch.tensor(...)`` expression of its numbers (9 digits give a float32 back exactly)."""
    if tensor is None:
        return "None"
    values = tensor.detach().float().cpu().tolist()
    text = repr(_round(values, digits))
    return f"torch.tensor({textwrap.fill(text, 100, subsequent_indent='    ', break_long_words=False)})"


def _round(value: Any, digits: int) -> Any:
    return [_round(v, digits) for v in value] if isinstance(value, list) else float(f"{value:.{digits}g}")


def _settings(experiment: Any, prepared: "Prepared", meta: dict[str, Any], data_dir: str | None) -> str:
    lab = prepared.lab
    text = f'''

# -- the experiment's settings ----------------------------------------------------------

EXPERIMENT = {experiment.name!r}
SEED = {lab.seed!r}  # where every random number starts: the initial weights, the order of the samples, dropout
PARAMS = {prepared.params!r}  # the experiment's hyperparameters
CLASS_NAMES = {list(lab.class_names)!r}
INPUT_SHAPE = {tuple(lab.input_shape)!r}  # channels, height, width
'''
    if experiment.needs == "data":
        text += f'''SAMPLES = {tuple(experiment.samples)!r}  # training and test pictures, spread evenly over each split
DATASET = {lab.dataset!r}
DATA_MEAN, DATA_STD = {tuple(meta["mean"])!r}, {tuple(meta["std"])!r}  # of the training pixels, scaled to 0..1
DATA_DIR = {str(data_dir or "data")!r}
'''
    else:
        conv = lab.conv
        text += f'''# the picture as the model sees it (normalised), and the model's first convolution ({conv.name})
PICTURE = {_literal(lab.picture)}
CONV = dict(
    weight={_literal(conv.weight)},
    bias={_literal(conv.bias)},
    stride={tuple(conv.stride)!r}, padding={tuple(conv.padding)!r}, name={conv.name!r},
)
'''
    return text


def _stub(prepared: "Prepared", reason: str) -> str:
    message = f"{prepared.component.label} could not be written out: {reason}"
    return f"def experiment(lab, **params):\n    raise NotImplementedError({message!r})\n"


def _main(name: str, needs: str) -> str:
    if needs == "data":
        make = '''def lab_input(data_dir: Path) -> LabInput:
    """The samples the Lab ran the experiment on."""
    splits = []
    for train, count in zip((True, False), SAMPLES):
        split = load_split(data_dir, train=train)
        splits += gather(split, spread_indices(len(split), count))
    return LabInput(DATASET, tuple(CLASS_NAMES), INPUT_SHAPE, *splits, seed=SEED)
'''
    else:
        make = '''def lab_input(data_dir: Path) -> LabInput:
    """The picture and the convolution the Lab ran the experiment on."""
    empty, labels = torch.zeros((0, *INPUT_SHAPE)), torch.zeros(0, dtype=torch.long)
    return LabInput("picture", tuple(CLASS_NAMES), INPUT_SHAPE, empty, labels, empty, labels, seed=SEED,
                    picture=PICTURE, conv=FirstConv(**CONV))
'''
    return f'''

# -- running it -------------------------------------------------------------------------


{make}

def show(result: LabResult) -> None:
    print(result.finding)
    for arm in result.arms:
        print(f"  {{arm.label}}: " + ", ".join(f"{{key}} {{value}}" for key, value in arm.figures.items() if not isinstance(value, list)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path(globals().get("DATA_DIR", "data")), help="where the data is")
    parser.add_argument("--json", action="store_true", help="print every figure as JSON")
    args = parser.parse_args()
    for event in {name}(lab_input(args.data_dir), **PARAMS):
        if isinstance(event, LabResult):
            if args.json:
                print(json.dumps({{"experiment": EXPERIMENT, "seed": SEED, "params": PARAMS, **event.to_dict()}}, indent=2))
            else:
                show(event)
        elif not args.json and event.done == event.total:
            print(f"{{event.arm}}: {{event.done}} of {{event.total}} done", flush=True)


if __name__ == "__main__":
    main()
'''


__all__ = ["export_experiment"]
