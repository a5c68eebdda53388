"""The ``trainpad`` command: list plugins, train, evaluate, predict and publish, headless.

Every component's hyperparameters become flags named ``--<kind>-<param>``, for the
components the command line picks: ``trainpad train --optimizer sgd --optimizer-lr 0.05``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from trainpad import settings
from trainpad.engine.config import RUN_PARAMS, TRAINED_KINDS, TrainConfig, default_components
from trainpad.engine.engine import Engine
from trainpad.engine.errors import ConfigError, TrainpadError
from trainpad.engine.event_text import clock_text, end_line, epoch_line
from trainpad.engine.events import EpochEnd, StepEnd
from trainpad.engine.lab.kit import LabResult
from trainpad.engine.lab.runner import LabRequest, run
from trainpad.engine.message import msg
from trainpad.engine.params import Param, ParamError
from trainpad.engine.presets import PRESETS, available_presets, get_preset
from trainpad.publish import TEST_IMAGES, check_destination, publish
from trainpad.web.app import main as serve
from trainpad.web.shipped_model import pretrained_path

if TYPE_CHECKING:
    from trainpad.runtime.distributed import DistContext
    from trainpad.engine.engine import Engine
    from trainpad.engine.events import EpochEnd, StepEnd
    from trainpad.engine.presets import Preset

DEFAULTS = default_components()
#: Flags that were renamed: the old name still works, hidden from --help, with a warning on stderr.
RENAMED_FLAGS: dict[str, str] = {"--max-samples": "--train-samples"}
#: The exit status when the reader of stdout went away (``trainpad plugins | head -1``): a shell's
#: 128 + SIGPIPE, what a program killed by the signal would give.
BROKEN_PIPE_STATUS = 128 + 13


def _flag(kind: str, param: Param) -> str:
    return f"--{kind}-{param.name.replace('_', '-')}"


def _help(param: Param) -> str:
    text = param.help or param.name
    return f"{text} ({param.describe()})".replace("%", "%%")


def build_parser(
    engine: "Engine | None" = None, chosen: dict[str, str] | None = None, preset: "Preset | None" = None, experiment: str | None = None
) -> argparse.ArgumentParser:
    """The argument parser; with an engine, ``train`` and ``export`` get the chosen components' flags.

    :param preset: the defaults of ``train``'s and ``export``'s flags are this preset's run.
    :param experiment: ``lab`` gets this experiment's hyperparameters as flags.
    """
    parser = argparse.ArgumentParser(
        prog="trainpad",
        description="Train, evaluate and predict with PyTorch models from trainpad's plugins.",
        epilog="Run `trainpad COMMAND --help` for a command's options.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("plugins", help="list plugins, their components and tabs", description="List every plugin, its components and their hyperparameters, its tabs, and every plugin that failed to load.")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")

    s = sub.add_parser("settings", help="list the TRAINPAD_* settings and their values", description="List every TRAINPAD_* environment variable: its value now, its default and what it does (docs/settings.md).")
    s.add_argument("--json", action="store_true", help="print JSON instead of text")
    s.add_argument("--markdown", action="store_true", help="print docs/settings.md (every setting, a table per section)")

    sub.add_parser("serve", help="start the web app (as python app.py does)", description="Start the web app; `trainpad serve --help` lists its options.", add_help=False)

    q = sub.add_parser("presets", help="list the presets: named runs known to work", description="List the presets (`trainpad train --preset NAME`), with every setting each one makes.")
    q.add_argument("--json", action="store_true", help="print JSON instead of text")

    t = sub.add_parser(
        "train",
        help="train a model and save a checkpoint",
        description="Train a model and save a checkpoint. Hyperparameter flags are those of the chosen "
        "components: `trainpad train --model NAME --help` lists that model's.",
    )
    chosen = chosen or (preset.components() if preset is not None else DEFAULTS)
    _add_run_arguments(t, engine, chosen, preset)
    t.add_argument("--data-dir", type=Path, default=None, help="data folder (default: TRAINPAD_DATA_DIR or a per-user cache)")
    t.add_argument("--output", "-o", type=Path, default=None, help="checkpoint path (default: runs/<dataset>-<model>-<time>.pt)")
    t.add_argument("--resume", type=Path, default=None, metavar="CHECKPOINT", help="carry on training this checkpoint")
    t.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    t.add_argument("--events", type=Path, default=None, metavar="FILE", help="append each event (step, epoch, end) to FILE as a JSON line, for programs following the run")
    t.add_argument("--stop-file", type=Path, default=None, metavar="FILE", help="stop after the current batch, keeping the model, once FILE exists")

    x = sub.add_parser(
        "export",
        help="write a run as a standalone PyTorch script",
        description="Write the run that `trainpad train` would make with the same flags as a standalone Python "
        "script that needs only torch and torchvision: the same model, settings, seed and data order.",
    )
    _add_run_arguments(x, engine, chosen, preset)
    x.add_argument("--data-dir", default=None, help="the script's default data folder (default: ./data where it runs)")
    x.add_argument("--output", "-o", default=None, help="the script's path, or - to print it (default: train_<model>_on_<dataset>.py here)")
    e = sub.add_parser("evaluate", help="evaluate a checkpoint on its test split", description="Evaluate a checkpoint on the test split of its dataset.")
    e.add_argument("checkpoint", type=Path)
    e.add_argument("--data-dir", type=Path, default=None, help="data folder (default: TRAINPAD_DATA_DIR or a per-user cache)")
    e.add_argument("--samples", type=int, default=0, help="evaluate the first N test samples only (default: all)")
    e.add_argument("--json", action="store_true", help="print JSON instead of text")

    w = sub.add_parser(
        "publish",
        help="write a checkpoint's model as a static web page",
        description="Write a checkpoint's model as a static web page (a folder): a drawing pad, every class's probability, "
        "the picture the model saw, its feature maps and a saliency map, computed in the visitor's browser with ONNX "
        "Runtime Web. Serve the folder with any file server, or push it to a static Hugging Face Space as it is.",
    )
    w.add_argument("checkpoint", type=Path)
    w.add_argument("--out", "-o", type=Path, required=True, metavar="DIR", help="the folder to write (new or empty)")
    w.add_argument("--force", action="store_true", help="replace what is in DIR")
    w.add_argument("--data-dir", type=Path, default=None, help="the dataset's folder, for the page's test images (default: TRAINPAD_DATA_DIR or a per-user cache)")
    w.add_argument("--test-images", type=int, default=None, metavar="N", help="test images the page offers (default 60; 0 for none)")
    lab = sub.add_parser(
        "lab",
        help="run a Lab experiment: one line of the training loop, changed, and measured",
        description="Run a Lab experiment: the same small recipe two (or a few) times, differing in one line of the "
        "loop, and print what was measured. Without NAME, list the experiments. The experiment's hyperparameters "
        "are flags: `trainpad lab NAME --help` lists them.",
    )
    lab.add_argument("experiment", nargs="?", default=None, metavar="NAME", help="the experiment (`trainpad lab` lists them)")
    lab.add_argument("--dataset", default="mnist", metavar="NAME", help="the dataset its samples come from (default mnist)")
    lab.add_argument("--seed", default=1, metavar="VALUE", help="where its random numbers start (default 1)")
    lab.add_argument("--data-dir", type=Path, default=None, help="data folder (default: TRAINPAD_DATA_DIR or a per-user cache)")
    lab.add_argument("--checkpoint", type=Path, default=None, help="the model whose first convolution `conv` shows (default: the shipped one)")
    lab.add_argument("--image", type=Path, default=None, help="the picture `conv` slides the filter over (default: the first test picture)")
    lab.add_argument("--json", action="store_true", help="print the finding and each arm's figures as JSON")
    lab.add_argument("--script", action="store_true", help="write the experiment as a standalone PyTorch script instead of running it")
    lab.add_argument("--output", "-o", default=None, help="with --script: the script's path, or - to print it (default: lab_<name>.py here)")
    if engine is not None and experiment in engine.registry.names("experiment"):
        component = engine.registry.get("experiment", experiment)
        group = lab.add_argument_group(f"experiment {experiment}", component.description or None)
        taken = {"experiment", "dataset", "seed", "data_dir", "checkpoint", "image", "json", "script", "output", "help"}
        for param in component.params:
            flag = f"--{'experiment-' if param.name in taken else ''}{param.name.replace('_', '-')}"
            group.add_argument(flag, dest=f"lab:{param.name}", default=None, metavar="VALUE", help=_help(param))

    r = sub.add_parser("predict", help="classify image files with a checkpoint", description="Classify image files (PNG, JPEG...: any size, dark ink on light or light on dark).")
    r.add_argument("checkpoint", type=Path)
    r.add_argument("images", type=Path, nargs="+", metavar="IMAGE")
    r.add_argument("--top", type=int, default=3, help="how many classes to show (default 3)")
    r.add_argument("--json", action="store_true", help="print JSON instead of text")
    return parser


def _add_run_arguments(parser: argparse.ArgumentParser, engine: "Engine | None", chosen: dict[str, str], preset: "Preset | None" = None) -> None:
    """The flags that define a run: its preset, its components, the run settings, and (with
    an engine) the chosen components' hyperparameters as ``--<kind>-<param>``.  With a
    preset, each flag's default is the preset's value."""
    base = preset.config if preset is not None else TrainConfig(**DEFAULTS)
    names = ", ".join(p.name for p in PRESETS)
    parser.add_argument("--preset", default=None, metavar="NAME", help=f"start from a preset ({names}; `trainpad presets` lists them); the other flags change it")
    for kind in TRAINED_KINDS:
        parser.add_argument(f"--{kind}", default=getattr(base, kind), metavar="NAME", help=f"the {kind} (default {getattr(base, kind)})")
    for param in RUN_PARAMS:
        default = getattr(base, param.name)
        shown = param if default == param.default else replace(param, default=default)
        flag = f"--{param.name.replace('_', '-')}"
        parser.add_argument(flag, dest=param.name, default=default, metavar="VALUE", help=_help(shown))
        _add_old_names(parser, flag, param.name)
    if engine is None:
        return
    for kind in TRAINED_KINDS:
        name = chosen.get(kind, DEFAULTS[kind])
        if name not in engine.registry.names(kind):
            continue
        component = engine.registry.get(kind, name)
        group = parser.add_argument_group(f"{kind} {name}", component.description or None)
        own = base.params.get(kind, {}) if name == getattr(base, kind) else {}  # the preset's, for its own components
        for param in component.params:
            shown = replace(param, default=own[param.name]) if param.name in own else param
            group.add_argument(_flag(kind, param), dest=f"{kind}:{param.name}", default=own.get(param.name), metavar="VALUE", help=_help(shown))


class _RenamedFlag(argparse.Action):
    """A flag's old name, kept so that scripts using it still run: it sets the new flag's value
    and says on stderr what the flag is called now."""

    def __init__(self, option_strings: list[str], dest: str, *, new: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, help=argparse.SUPPRESS, default=argparse.SUPPRESS, **kwargs)
        self.new = new

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option_string: str | None = None) -> None:
        print(
            f"trainpad: warning: {option_string} is now {self.new}; {option_string} still works but will go away, "
            f"so write {self.new} in your scripts",
            file=sys.stderr,
        )
        setattr(namespace, self.dest, values)


def _add_old_names(parser: argparse.ArgumentParser, flag: str, dest: str) -> None:
    """Accept ``flag``'s old names (:data:`RENAMED_FLAGS`), hidden from --help, with a warning."""
    for old in (old for old, new in RENAMED_FLAGS.items() if new == flag):
        parser.add_argument(old, dest=dest, metavar="VALUE", action=_RenamedFlag, new=flag)


def _chosen(argv: Sequence[str], engine: "Engine") -> tuple[dict[str, str], "Preset | None"]:
    """The components ``train`` or ``export`` will use, and its ``--preset`` (read before the
    full parse, which needs them to add the components' flags)."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--preset", default=None)
    for kind in TRAINED_KINDS:
        pre.add_argument(f"--{kind}", default=None)
    known, _ = pre.parse_known_args(argv)
    preset = get_preset(known.preset, engine.registry) if known.preset and argv[:1] in (["train"], ["export"]) else None
    base = preset.components() if preset is not None else DEFAULTS
    return {kind: getattr(known, kind) or base[kind] for kind in TRAINED_KINDS}, preset


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 failed run, 2 bad input, 141 stdout closed early).

    When the program reading stdout stops early (``trainpad plugins | head -1``), the command
    ends quietly, as Python's documentation advises: no traceback, the rest of its output dropped.
    """
    try:
        try:
            status = _run(argv)
        finally:  # argparse's --help and errors exit, and its writes swallow a closed pipe's error
            sys.stdout.flush()  # so a closed pipe shows here, not at interpreter exit
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the exit's own flush then writes nowhere
        return BROKEN_PIPE_STATUS
    return status


def _run(argv: Sequence[str] | None) -> int:
    """Parse ``argv`` (default: the command line) and run its command."""
    argv = list(sys.argv[1:] if argv is None else argv)

    if argv[:1] == ["serve"]:  # the web app, with its own options (`trainpad serve --help`)

        return serve(argv[1:], prog="trainpad serve")
    try:
        settings.check()  # a bad TRAINPAD_* value stops here, named, before anything runs
        if argv[:1] in (["train"], ["evaluate"], ["predict"], ["publish"], ["lab"]):  # the commands that run torch
            from trainpad.runtime.threads import apply_runtime_settings

            apply_runtime_settings()  # threads, OpenMP, allocator: before torch is imported (a plugin may import it)
    except TrainpadError as exc:
        print(f"trainpad: error: {exc}", file=sys.stderr)
        return 2

    engine = Engine.load()
    try:
        chosen, preset = _chosen(argv, engine)
    except TrainpadError as exc:
        print(f"trainpad: error: {exc}", file=sys.stderr)
        return 2
    experiment = argv[1] if argv[:1] == ["lab"] and len(argv) > 1 and not argv[1].startswith("-") else None
    parser = build_parser(engine, chosen, preset, experiment)
    args = parser.parse_args(argv)
    try:
        commands = {
            "plugins": cmd_plugins, "presets": cmd_presets, "settings": cmd_settings, "train": cmd_train, "export": cmd_export,
            "evaluate": cmd_evaluate, "predict": cmd_predict, "publish": cmd_publish, "lab": cmd_lab,
        }  # fmt: skip
        return commands[args.command](engine, args)
    except (TrainpadError, ParamError) as exc:
        from trainpad.runtime.distributed import rank_prefix

        parser.exit(2, f"trainpad: error: {rank_prefix()}{exc}\n")
    return 0


# -- plugins ------------------------------------------------------------------------


def cmd_plugins(engine: "Engine", args: argparse.Namespace) -> int:
    if args.json:
        print(json.dumps(engine.listing(), indent=2))
        return 0
    for info in sorted(engine.plugins.values(), key=lambda i: (i.builtin, i.name)):
        origin = "built-in" if info.builtin else (f"{info.dist} {info.version}" if info.dist else "plugin")
        print(f"{info.name} ({origin}) [{info.status}]")
        if info.error:
            print(f"  error: {info.error}")
        for component in engine.registry:
            if component.plugin == info.name:
                print(f"  {component.kind} {component.name}: {component.description}")
                for param in component.params:
                    print(f"      {param.name}: {param.describe()}{' - ' + param.help if param.help else ''}")
        for tab in engine.tabs:
            if tab.plugin == info.name:
                print(f"  tab {tab.label!r} (order {tab.order})")
    return 0


def cmd_presets(engine: "Engine", args: argparse.Namespace) -> int:
    presets = available_presets(engine.registry)
    if args.json:
        print(json.dumps([
            {"name": p.name, "label": p.label, "summary": p.summary, "components": p.components(),
             "params": p.params(engine.registry), "settings": p.settings()}
            for p in presets
        ], indent=2))
        return 0
    for preset in presets:
        print(f"{preset.name} ({preset.label}): {preset.summary}")
        for kind, name in preset.components().items():
            own = preset.config.params.get(kind) or {}
            values = ", ".join(f"{key} {value}" for key, value in own.items())
            print(f"  {kind} {name}" + (f": {values}" if values else ""))
        print("  " + ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in preset.settings().items()))
    return 0


def cmd_settings(engine: "Engine", args: argparse.Namespace) -> int:
    if args.markdown:
        print(settings.markdown_page(), end="")
        return 0
    values = {name: setting.read() for name, setting in settings.SETTINGS.items()}
    if args.json:
        shown = {name: str(value) if isinstance(value, Path) else value for name, value in values.items()}
        print(json.dumps({name: {"value": shown[name], "set": settings.is_set(name)} for name in values}, indent=2))
        return 0
    for section in settings.sections():
        print(f"{section}:")
        for name, setting in settings.SETTINGS.items():
            if setting.section == section:
                where = "set" if settings.is_set(name) else "default"
                print(f"  {name} = {values[name]} ({where}): {setting.help}")
    return 0


# -- train --------------------------------------------------------------------------


def cmd_train(engine: "Engine", args: argparse.Namespace) -> int:
    """Train and save a checkpoint; under torchrun, as one process of a distributed run."""
    from trainpad.runtime.distributed import PeerFailed, peer_failure, record_error, setup

    dist = setup(str(args.device))  # None unless torchrun started several processes
    if dist is None:
        return _train(engine, args, None)
    try:
        status = _train(engine, args, dist)
    except BaseException as exc:  # torchrun stops the other processes and names the first failure
        cause = peer_failure(exc)
        if cause is not None:  # not this process's fault: one line, and not recorded as the root cause
            raise PeerFailed(
                f"another process of this distributed run failed or stopped answering (see its error), "
                f"so this one stops too ({cause})"
            ) from None
        record_error(exc)
        raise
    dist.close()
    # The run is over and its files are closed.  Leave now rather than through interpreter
    # shutdown: there, about one exit in ten, a thread that the process group's backend
    # started is destroyed unjoined and aborts the process ("terminate called without an
    # active exception", SIGABRT), and torchrun then reports a finished run as failed.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def _config(args: argparse.Namespace) -> Any:
    """The :class:`~trainpad.engine.config.TrainConfig` that the run flags describe."""
    params: dict[str, dict[str, Any]] = {}
    for key, value in vars(args).items():
        if ":" in key and value is not None:
            kind, name = key.split(":", 1)
            params.setdefault(kind, {})[name] = value
    return TrainConfig(
        dataset=args.dataset, model=args.model, optimizer=args.optimizer, loss=args.loss, params=params,
        epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, device=args.device,
        schedule=args.schedule, train_samples=args.train_samples, test_samples=args.test_samples,
    )


def cmd_export(engine: "Engine", args: argparse.Namespace) -> int:
    """Write the run as a standalone script (``-o -``: to stdout)."""
    exported = engine.export_script(_config(args), data_dir=args.data_dir)
    return _write_script(exported, args.output, f"trains {args.model} on {args.dataset}")


def _train(engine: "Engine", args: argparse.Namespace, dist: "DistContext | None") -> int:
    from trainpad.engine.checkpoint import save_checkpoint

    config = _config(args)
    resume = engine.load_checkpoint(args.resume) if args.resume else None
    run = engine.build_run(config, data_dir=args.data_dir, resume=resume, distributed=dist)
    cfg = run.config
    main = dist is None or dist.is_main  # only rank 0 prints, draws the bar and saves
    if main:
        print(_run_line(run, dist), file=sys.stderr)
        if run.pairing:
            print(run.pairing, file=sys.stderr)
    bar = ProgressBar(enabled=main and not args.quiet)
    events = EventLog(args.events) if main and args.events else None
    stop_file = args.stop_file
    previous = signal.getsignal(signal.SIGINT)

    def interrupt(signum: int, frame: Any) -> None:
        if main:
            print("\nstopping after this batch (Ctrl-C again to abort)", file=sys.stderr)
        run.stop()
        signal.signal(signal.SIGINT, previous)

    signal.signal(signal.SIGINT, interrupt)
    try:
        for event in run.events():
            bar.show(event)
            if events is not None:
                events.write(event)
            if stop_file is not None and main and isinstance(event, StepEnd) and stop_file.exists():
                run.stop()
    finally:
        signal.signal(signal.SIGINT, previous)
    end = run.result
    assert end is not None
    bar.close()
    if not main:
        return 1 if end.status == "diverged" or (end.epochs_done == 0 and end.status != "completed") else 0
    print(end_line(end), file=sys.stderr)
    if end.epochs_done == 0 and end.status != "completed":
        print("nothing was trained, so no checkpoint was written", file=sys.stderr)
        if events is not None:
            events.end(end, None)
        return 1
    output = args.output or Path("runs") / f"{cfg.dataset}-{cfg.model}-{time.strftime('%Y%m%d-%H%M%S')}.pt"
    save_checkpoint(end.trained, output)
    if events is not None:
        events.end(end, output)
    metrics = end.trained.metrics
    if "test_accuracy" in metrics:
        print(f"test accuracy {metrics['test_accuracy'] * 100:.2f}%, test loss {metrics['test_loss']:.4f}")
    print(f"checkpoint: {output}")
    return 0 if end.status != "diverged" else 1


def _run_line(run: Any, dist: "DistContext | None") -> str:
    """What a run trains, with what, how: its first line on the terminal."""
    cfg = run.config
    if dist is None:
        batch, device = f"batch {cfg.batch_size}", f"device {run.device}"
    else:
        batch = (
            f"batch {cfg.batch_size} per process x {dist.world_size} processes = global batch "
            f"{cfg.batch_size * dist.world_size}"
        )
        device = f"{dist.world_size} processes on {run.device.type} ({dist.backend})"
    return (
        f"training {cfg.model} on {cfg.dataset} with {cfg.optimizer} and {cfg.loss}: {cfg.epochs} epoch(s), "
        f"{batch}, {run.train_samples:,} samples, {device}"
    )


class EventLog:
    """``--events FILE``: one JSON object per line, ``{"event": "step"|"epoch"|"end", ...fields}``.

    Step and epoch lines hold the :class:`~trainpad.engine.events.StepEnd` / :class:`~trainpad.engine.events.EpochEnd`
    fields; the end line holds the :class:`~trainpad.engine.events.TrainEnd` scalars, ``checkpoint``
    (its path, or null) and ``metrics``, for a program that follows the run (docs/distributed.md).
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file = path.open("a")

    def write(self, event: Any) -> None:
        kind = "step" if isinstance(event, StepEnd) else "epoch" if isinstance(event, EpochEnd) else None
        if kind is not None:
            self._line({"event": kind, **event.to_dict()})

    def end(self, end: Any, checkpoint: Path | None) -> None:
        self._line({
            "event": "end", "status": end.status, "message": end.message, "epochs_done": end.epochs_done,
            "steps_done": end.steps_done, "elapsed": end.elapsed,
            "checkpoint": str(checkpoint) if checkpoint is not None else None,
            "metrics": dict(end.trained.metrics) if end.trained is not None else {},
        })
        self.file.close()

    def _line(self, record: dict[str, Any]) -> None:
        self.file.write(json.dumps(record) + "\n")
        self.file.flush()


class ProgressBar:
    """One updating line on a terminal; a line per epoch (and per 10%) elsewhere."""

    def __init__(self, *, enabled: bool = True, width: int = 24) -> None:
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.width = width
        self.last_tenth = -1
        self.last_draw = 0.0

    def show(self, event: "StepEnd | EpochEnd | Any") -> None:
        if not self.enabled:
            return
        if isinstance(event, StepEnd):
            fraction = event.step / event.steps
            tenth = int(fraction * 10)
            now = time.monotonic()
            if self.tty and (now - self.last_draw > 0.1 or event.step == event.steps):
                self.last_draw = now
                filled = int(fraction * self.width)
                bar = "#" * filled + "." * (self.width - filled)
                sys.stderr.write(
                    f"\repoch {event.epoch}/{event.epochs} [{bar}] {fraction:4.0%} loss {event.loss:.4f} "
                    f"acc {event.accuracy:6.2%} {event.samples_per_sec:,.0f} samples/s ETA {clock_text(event.eta)} "
                )
                sys.stderr.flush()
            elif not self.tty and tenth > self.last_tenth:
                self.last_tenth = tenth
                print(
                    f"epoch {event.epoch}/{event.epochs} step {event.step}/{event.steps} loss {event.loss:.4f} "
                    f"acc {event.accuracy:.2%} {event.samples_per_sec:,.0f} samples/s ETA {clock_text(event.eta)}",
                    file=sys.stderr,
                )
        elif isinstance(event, EpochEnd):
            if self.tty:
                sys.stderr.write("\n")
            print(epoch_line(event), file=sys.stderr)

    def close(self) -> None:
        if self.enabled and self.tty:
            sys.stderr.write("\n")


# -- evaluate and predict -----------------------------------------------------------


def cmd_evaluate(engine: "Engine", args: argparse.Namespace) -> int:
    trained = engine.load_checkpoint(args.checkpoint)
    result = engine.evaluate(trained, data_dir=args.data_dir, samples=args.samples, mistakes=10)
    names = trained.class_names
    if args.json:
        print(json.dumps({
            "accuracy": result.accuracy, "loss": result.loss, "count": result.count,
            "per_class_accuracy": dict(zip(names, result.per_class_accuracy)),
            "confusion": result.confusion.tolist(),
            "mistakes": [m.__dict__ for m in result.mistakes],
        }, indent=2))
        return 0
    print(f"{trained.describe()}")
    print(f"accuracy {result.accuracy * 100:.2f}% ({result.count:,} test samples), loss {result.loss:.4f}")
    print("per class: " + "  ".join(f"{n} {a * 100:.1f}%" for n, a in zip(names, result.per_class_accuracy)))
    print("confusion matrix (rows: true, columns: predicted):")
    width = max(5, max(len(n) for n in names) + 1)
    print(" " * width + "".join(f"{n[:width - 1]:>{width}}" for n in names))
    for name, row in zip(names, result.confusion.tolist()):
        print(f"{name[:width - 1]:>{width}}" + "".join(f"{v:>{width}}" for v in row))
    return 0


# -- the Lab ----------------------------------------------------------------------------


def cmd_lab(engine: "Engine", args: argparse.Namespace) -> int:
    """List the experiments, run one and print what it measured, or write it as a script."""
    if args.experiment is None:
        experiments = engine.experiments()
        if args.json:
            print(json.dumps([e.to_dict() for e in experiments], indent=2))
        for experiment in [] if args.json else experiments:
            print(f"{experiment.name}: {experiment.title} - {experiment.description}")
        return 0
    params = {key.split(":", 1)[1]: value for key, value in vars(args).items() if key.startswith("lab:") and value is not None}
    request = LabRequest(args.experiment, args.dataset, params, args.seed)
    picture = trained = None
    if engine.component("experiment", args.experiment).meta["needs"] == "picture":
        trained, picture = _lab_model_and_picture(engine, args)
    prepared = engine.prepare_experiment(request, data_dir=args.data_dir, picture=picture, trained=trained)
    if args.script:
        exported = engine.export_experiment(prepared, data_dir=str(args.data_dir) if args.data_dir else None)
        return _write_script(exported, args.output, f"runs the Lab's {args.experiment} experiment")
    started = time.perf_counter()
    for event in run(prepared):
        if isinstance(event, LabResult):
            result = event
        elif not args.json and event.done == event.total:
            print(f"  {event.arm}: {event.total:,} of {event.total:,} done", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - started
    experiment = prepared.experiment
    if args.json:
        print(json.dumps({
            "experiment": experiment.name, "title": experiment.title, "dataset": prepared.lab.dataset, "seed": prepared.lab.seed,
            "params": prepared.params, "seconds": seconds, **result.to_dict(),
        }, indent=2))  # fmt: skip
        return 0
    print(f"{experiment.name} ({experiment.title}) on {prepared.lab.dataset}, in {seconds:.1f} s")
    print(result.finding)
    for arm in result.arms:
        figures = ", ".join(f"{key} {_figure(value)}" for key, value in arm.figures.items() if not isinstance(value, list))
        print(f"  {arm.label}: {figures}")
    return 0


def _lab_model_and_picture(engine: "Engine", args: argparse.Namespace) -> tuple[Any, Any]:
    """The model (``--checkpoint``, else the shipped one) and the picture (``--image``, else none) of a picture experiment."""
    path = args.checkpoint or pretrained_path()
    if path is None:
        raise ConfigError("this experiment looks at a model: give one with --checkpoint")
    trained = engine.load_checkpoint(path)
    if args.image is None:
        return trained, None
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(args.image) as image:
            image.load()
            return trained, image.copy()
    except (FileNotFoundError, UnidentifiedImageError) as exc:
        raise ConfigError(f"cannot read the picture {args.image}: {exc}") from None


def _figure(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _write_script(exported: Any, output: str | None, what: str) -> int:
    """Write ``exported`` (an :class:`~trainpad.engine.export.ExportedScript`) to ``output`` (``-``: stdout),
    and say whether it runs as it is or what must be filled in first (on stderr, each part it lacks)."""
    if output == "-":
        sys.stdout.write(exported.source)
    else:
        path = Path(output or exported.filename)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(exported.source)
        done = f"python {path} {what} with torch and torchvision alone"
        print(f"wrote {path}: " + ("not complete: fill in what it lacks before running it (below)" if exported.missing else done))
    if exported.missing:
        print(
            f"{len(exported.missing)} part(s) of the run could not be written out; the script has a stub for each, "
            "which raises NotImplementedError until you put its code there:",
            file=sys.stderr,
        )
        for line in exported.missing:
            print(f"  {line}", file=sys.stderr)
    return 0


def cmd_predict(engine: "Engine", args: argparse.Namespace) -> int:
    from PIL import Image, UnidentifiedImageError

    from trainpad.engine.pictures import BlankImage

    trained = engine.load_checkpoint(args.checkpoint)
    results = []
    failed = 0
    for path in args.images:
        try:
            with Image.open(path) as image:
                image.load()
                prediction = engine.predict(trained, image)
        except FileNotFoundError:
            results.append({"image": str(path), "error": "no such file"})
        except UnidentifiedImageError:
            results.append({"image": str(path), "error": "not an image file PIL can read"})
        except BlankImage as exc:
            results.append({"image": str(path), "error": str(exc)})
        else:
            top = prediction.top(max(1, args.top))
            results.append({"image": str(path), "label": top[0][0], "top": [[n, p] for n, p in top]})
            continue
        failed += 1
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for item in results:
            if "error" in item:
                print(f"{item['image']}: error: {item['error']}")
            else:
                ranked = ", ".join(f"{n} {p:.1%}" for n, p in item["top"])
                print(msg("{status}: {message} ({time})", status=item['image'], message=item['label'], time=ranked))
    return 1 if failed else 0


def cmd_publish(engine: "Engine", args: argparse.Namespace) -> int:
    """Write the checkpoint's model as a static page in ``--out`` (all of it, or nothing)."""
    check_destination(args.out, force=args.force)  # before the checkpoint is read: a refused folder costs nothing
    trained = engine.load_checkpoint(args.checkpoint)
    count = TEST_IMAGES if args.test_images is None else max(0, args.test_images)
    site, folder = publish(engine, trained, args.out, force=args.force, data_dir=args.data_dir, test_images=count)
    for note in site.notes:
        print(f"note: {note}", file=sys.stderr)
    print(
        f"published {site.title} in {folder} ({len(site.files)} files, {site.nbytes / 1e6:.1f} MB): "
        f"serve it with `python -m http.server -d {folder}`, or push the folder to a static Hugging Face Space"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
