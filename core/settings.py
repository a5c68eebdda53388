"""Every ``TRAINPAD_*`` environment variable: its name, type, default and meaning, in one place.

Code reads a setting with :func:`get`, which reads the environment at that moment (so a
test can change it) and parses it the same way everywhere.  The command line and the web
app call :func:`check` at start-up: a value that cannot be parsed stops them there, with
a message naming the variable, the value and what is accepted, instead of surfacing later
as a traceback or being silently replaced by the default.  An empty value counts as
unset, except where a setting says otherwise.

``docs/settings.md`` lists them all (``trainpad settings`` prints the same table with the
values in effect), and a test checks that the code, this module and the docs agree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from trainpad.engine.errors import ConfigError

#: The words read as true and as false (in a setting, and in a true-or-false parameter).
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


class SettingError(ConfigError):
    """A ``TRAINPAD_*`` variable holds a value that is not accepted; the message says what is."""


@dataclass(frozen=True)
class Setting:
    """One environment variable.

    :param parse: turns the (non-empty, stripped) text into the value; raises
        ``ValueError`` for text it does not accept.
    :param accepts: what ``parse`` accepts, for messages and the docs.
    :param empty: the value of an empty string; ``None`` makes empty mean unset.
    """

    name: str
    section: str
    default: Any
    parse: Callable[[str], Any]
    accepts: str
    help: str
    empty: Any = None

    def read(self, environ: Mapping[str, str] | None = None) -> Any:
        """The value in ``environ`` (default ``os.environ``), parsed.

        :raises SettingError: the text is not accepted.
        """
        text = (os.environ if environ is None else environ).get(self.name)
        if text is None:
            return self.default
        if not text.strip():
            return self.default if self.empty is None else self.empty
        try:
            return self.parse(text.strip())
        except ValueError:
            shown = text if len(text) <= 40 else text[:40] + "..."
            raise SettingError(f"{self.name}={shown!r} is not accepted: use {self.accepts}") from None


# -- parsers -------------------------------------------------------------------------------


def flag(text: str) -> bool:
    value = text.lower()
    if value in TRUE_WORDS | FALSE_WORDS:
        return value in TRUE_WORDS
    raise ValueError(text)


def whole(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = float(text)  # "1e4" and "20.0" are whole numbers too
        if not value.is_integer() or value < minimum:
            raise ValueError(text)
        return int(value)

    return parse


def positive(text: str) -> float:
    value = float(text)
    if not (value > 0 and value != float("inf")):  # NaN and inf fail here too
        raise ValueError(text)
    return value


def names(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def choice(*allowed: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text.lower() not in allowed:
            raise ValueError(text)
        return text.lower()

    return parse


def threads(text: str) -> int | None:
    return None if text.lower() == "auto" else whole(1)(text)


def forwarded_hops(text: str) -> int | str:
    return "auto" if text.lower() == "auto" else whole(0)(text)


def path(text: str) -> Path:
    return Path(text).expanduser()


def _cache_home() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


BOOL = "1, true, yes or on; 0, false, no or off"

_ALL = (
    # data
    Setting("TRAINPAD_DATA_DIR", "data", None, path, "a folder",
            "where datasets are read and downloaded to (default: `$XDG_CACHE_HOME/trainpad/data`, "
            "`~/.cache/trainpad/data`); `--data-dir` wins over it"),
    Setting("TRAINPAD_CACHE_DIR", "data", None, path, "a folder",
            "trainpad's per-user cache, for decoded datasets whose data folder is read-only "
            "(default: `$XDG_CACHE_HOME/trainpad`)"),
    Setting("TRAINPAD_DATA_CACHE", "data", True, flag, BOOL,
            "`0` turns off the decoded-dataset cache, so every start decodes the raw files again"),
    Setting("TRAINPAD_OFFLINE", "data", False, flag, BOOL,
            "`1` never downloads: a missing dataset says which files to put where "
            "(`HF_HUB_OFFLINE=1` does the same)"),
    # plugins
    Setting("TRAINPAD_LOAD_PLUGINS", "plugins", None, names, "comma-separated plugin or distribution names",
            "loads only these third-party plugins; empty loads none (built-ins only)", empty=[]),
    Setting("TRAINPAD_DISABLE_PLUGINS", "plugins", [], names, "comma-separated plugin or distribution names",
            "plugins to block, built-ins included (`sgd`, `csv_log`...)"),
    Setting("TRAINPAD_TRACE_PLUGINS", "plugins", False, flag, BOOL,
            "`1` prints plugin loading and every hook call to stderr"),
    Setting("TRAINPAD_STRICT_PLUGINS", "plugins", False, flag, BOOL,
            "`1` raises at the first plugin failure instead of reporting it (for tests and CI)"),
    Setting("TRAINPAD_METRICS_CSV", "plugins", None, path, "a file path",
            "the built-in `csv-log` plugin appends each epoch's metrics to this file"),
    # the shipped model
    Setting("TRAINPAD_PRETRAINED", "web app", "shipped", path, "a checkpoint file, or empty for none",
            "the checkpoint new sessions start with (default: the shipped `plugins/pretrained/mnist-cnn.pt`); "
            "empty starts them with no model", empty="none"),
    # a public server's limits
    Setting("TRAINPAD_MAX_TRAINING_RUNS", "server limits", 1, whole(1), "a whole number of at least 1",
            "runs training at once; later ones wait in the queue, seeing their place"),
    Setting("TRAINPAD_MAX_EPOCHS", "server limits", 20, whole(1), "a whole number of at least 1",
            "epochs one web run may ask for"),
    Setting("TRAINPAD_MAX_BATCH_SIZE", "server limits", 1024, whole(1), "a whole number of at least 1",
            "the largest batch one web run may ask for"),
    Setting("TRAINPAD_MAX_TRAIN_SAMPLES", "server limits", 60_000, whole(1), "a whole number of at least 1",
            "training samples per web run (0 in the form asks for all, up to this)"),
    Setting("TRAINPAD_MAX_EVAL_SAMPLES", "server limits", 10_000, whole(1), "a whole number of at least 1",
            "test images per evaluation in the web app"),
    Setting("TRAINPAD_MAX_RUN_SECONDS", "server limits", 900.0, positive, "a number of seconds above 0",
            "a web run still going after this long (its data loading and evaluations included) stops within "
            "a step, keeping its model"),
    Setting("TRAINPAD_MAX_UPLOAD_MB", "server limits", 20.0, positive, "a number of megabytes above 0",
            "the largest file the web app accepts"),
    Setting("TRAINPAD_MAX_CHECKPOINT_MB", "server limits", 50.0, positive, "a number of megabytes above 0",
            "the largest checkpoint loaded (web app and CLI)"),
    Setting("TRAINPAD_MAX_IMAGE_PIXELS", "server limits", 4096 * 4096, whole(1), "a whole number of at least 1",
            "the largest picture predicted, in pixels, checked from its header before decoding"),
    Setting("TRAINPAD_SESSION_MEMORY_MB", "server limits", 1024.0, positive, "a number of megabytes above 0",
            "memory the sessions' models may hold together; the least recently used are dropped beyond it"),
    Setting("TRAINPAD_SESSION_IDLE_MINUTES", "server limits", 60.0, positive, "a number of minutes above 0",
            "a session unused this long is dropped"),
    Setting("TRAINPAD_SESSION_RUNS", "server limits", 8, whole(1), "a whole number of at least 1",
            "runs a session keeps in its runs table (with their models), besides the shipped model; "
            "the oldest go first, never the one in use"),
    Setting("TRAINPAD_QUEUE_SIZE", "server limits", 64, whole(1), "a whole number of at least 1",
            "events of one kind (predictions, evaluations...) that may wait in the queue; more are refused "
            "with a message, and each kind has its own, so training requests never fill the predictions' queue"),
    Setting("TRAINPAD_CONCURRENCY", "server limits", 4, whole(1), "a whole number of at least 1",
            "events of one kind (predictions, Stop...) running at once"),
    Setting("TRAINPAD_MAX_WAITING_RUNS", "server limits", 16, whole(1), "a whole number of at least 1",
            "training runs that may wait for a free training slot; more are refused with a message"),
    Setting("TRAINPAD_MAX_RUNS_PER_CLIENT", "server limits", 2, whole(1), "a whole number of at least 1",
            "runs one client (one address) may have waiting or training at once; a session has one at most"),
    Setting("TRAINPAD_MAX_WAITING_PER_CLIENT", "server limits", 16, whole(1), "a whole number of at least 1",
            "events of any kind one client may have waiting in the queue (Stop is never refused)"),
    Setting("TRAINPAD_MAX_SESSIONS", "server limits", 1000, whole(1), "a whole number of at least 1",
            "live sessions (browser tabs, API clients) the server keeps"),
    Setting("TRAINPAD_MAX_SESSIONS_PER_CLIENT", "server limits", 64, whole(1), "a whole number of at least 1",
            "live sessions of one client; past it the client's idle sessions holding nothing of their own "
            "make room, and a new one is refused when none can"),
    Setting("TRAINPAD_CLIENT_MEMORY_MB", "server limits", 256.0, positive, "a number of megabytes above 0",
            "memory the sessions of one client may hold together; past it that client's own least recently "
            "used sessions are dropped, never another client's"),
    Setting("TRAINPAD_MAX_UPLOADS_PER_CLIENT_MB", "server limits", 100.0, positive, "a number of megabytes above 0",
            "bytes one client may upload in the time uploads are kept (an hour); more are refused"),
    Setting("TRAINPAD_MAX_UPLOADS_MB", "server limits", 2048.0, positive, "a number of megabytes above 0",
            "bytes all clients together may upload in the time uploads are kept (an hour)"),
    Setting("TRAINPAD_MAX_REQUEST_KB", "server limits", 1024.0, positive, "a number of kilobytes above 0",
            "the body of a request other than a file upload (the values an event sends)"),
    Setting("TRAINPAD_CLIENT_GONE_SECONDS", "server limits", 10.0, positive, "a number of seconds above 0",
            "a run whose client has had no connection (event stream or heartbeat) for this long stops, "
            "freeing its training slot"),
    Setting("TRAINPAD_FORWARDED_HOPS", "server limits", "auto", forwarded_hops,
            "auto, or a whole number of at least 0",
            "proxies in front of the app that append the client's address to `X-Forwarded-For`: the client "
            "is the address that many entries from the end; `auto` is 1 on a Hugging Face Space (`SPACE_ID` "
            "set) and 0 elsewhere (the connection's own address; the header is ignored)"),
    Setting("TRAINPAD_MAX_SKETCH_LAYERS", "server limits", 4, whole(1), "a whole number of at least 1",
            "layers a sketch value may have (only its composite picture is ever decoded)"),
    Setting("TRAINPAD_MAX_INSIDE_PIXELS", "server limits", 128 * 128, whole(1), "a whole number of at least 1",
            "the largest input (height × width) of a model whose insides (saliency, feature maps) the Predict tab "
            "computes; a model with a larger input, or more than 4 channels, is still predicted, with a line saying "
            "why its insides are not shown"),
    Setting("TRAINPAD_MAX_MODEL_MB", "server limits", 16.0, positive, "a number of megabytes above 0",
            "parameters and buffers of a model a web run builds or a checkpoint asks for, counted before it "
            "is built; keep it below `TRAINPAD_MAX_UPLOAD_MB` so that every model trained here can be "
            "uploaded again"),
    Setting("TRAINPAD_MAX_CLASSES", "server limits", 1000, whole(2), "a whole number of at least 2",
            "classes a checkpoint may have"),
    Setting("TRAINPAD_MAX_EVAL_SECONDS", "server limits", 60.0, positive, "a number of seconds above 0",
            "an evaluation still running after this long stops and shows the test images it evaluated"),
    Setting("TRAINPAD_MAX_PUBLISHES_PER_CLIENT", "server limits", 6, whole(0), "a whole number of at least 0",
            "pages one client may have made per hour with the Predict tab's \"Publish as a web page\" (each exports "
            "the model to ONNX: seconds of CPU); a model published once is not exported again; `0` turns the button off"),
    Setting("TRAINPAD_MAX_LAB_SECONDS", "server limits", 60.0, positive, "a number of seconds above 0",
            "a Lab experiment still running after this long (waiting for a training slot aside) stops, saying so"),
    # the machine
    Setting("TRAINPAD_RUN_IN", "runtime", None, choice("thread", "process", "zerogpu"), "thread, process or zerogpu",
            "where the web app runs each training run, evaluation and Lab experiment: a thread of the server, a process "
            "of its own (its memory goes back when it ends, a crash is its own), or a ZeroGPU worker (`@spaces.GPU`: "
            "training runs; the others in a thread); "
            "unset: zerogpu on a ZeroGPU Space (SPACES_ZERO_GPU set), else thread"),
    Setting("TRAINPAD_ZEROGPU_SPEED", "runtime", 4000.0, positive, "a number above 0",
            "on ZeroGPU: training samples a GPU worker is assumed to train per second per million model parameters, "
            "to plan the GPU time each run asks for (lower it for a slower GPU size; a visitor's quota pays for what is used)"),
    Setting("TRAINPAD_THREADS", "runtime", None, threads, "a whole number of at least 1, or auto",
            "threads for torch (default `auto`: the CPUs this process may use, counting cgroup quotas)"),
    Setting("TRAINPAD_OMP_WAIT_POLICY", "runtime", "auto", choice("auto", "passive", "active", "default"),
            "auto, passive, active or default",
            "how OpenMP's idle threads wait; `auto` is `passive` for the web app or on a busy machine, "
            "else OpenMP's own (`default`)"),
    Setting("TRAINPAD_MALLOC_TUNING", "runtime", True, flag, BOOL,
            "`0` leaves glibc's allocator alone (the tuning keeps freed memory for the next step: faster, "
            "a higher peak)"),
    Setting("TRAINPAD_DIST_TIMEOUT", "runtime", 600.0, positive, "a number of seconds above 0",
            "how long a torchrun process waits for the others in a collective before failing"),
    Setting("TRAINPAD_SYNC_BATCHNORM", "runtime", False, flag, BOOL,
            "`1` synchronises batch-norm statistics across the processes of a CUDA torchrun run"),
)

#: Every setting, by variable name.
SETTINGS: dict[str, Setting] = {setting.name: setting for setting in _ALL}


def get(name: str) -> Any:
    """The value of setting ``name`` now (the default when unset).

    :raises KeyError: ``name`` is not a trainpad setting.
    :raises SettingError: its value is not accepted.
    """
    return SETTINGS[name].read()


def check(environ: Mapping[str, str] | None = None) -> None:
    """Read every setting once; raise for all the values that are not accepted.

    :raises SettingError: naming each bad variable, its value and what it accepts.
    """
    problems = []
    for setting in _ALL:
        try:
            setting.read(environ)
        except SettingError as exc:
            problems.append(str(exc))
    if problems:
        raise SettingError("; ".join(problems))


def data_dir() -> Path:
    """``TRAINPAD_DATA_DIR``, else ``$XDG_CACHE_HOME/trainpad/data``."""
    return get("TRAINPAD_DATA_DIR") or _cache_home() / "trainpad" / "data"


def cache_dir() -> Path:
    """``TRAINPAD_CACHE_DIR``, else ``$XDG_CACHE_HOME/trainpad``."""
    return get("TRAINPAD_CACHE_DIR") or _cache_home() / "trainpad"


def offline() -> bool:
    """``TRAINPAD_OFFLINE`` (or Hugging Face's ``HF_HUB_OFFLINE``): never download."""
    return get("TRAINPAD_OFFLINE") or os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in TRUE_WORDS


def markdown_table(section: str | None = None) -> str:
    """The settings as a Markdown table (for ``docs/settings.md`` and ``trainpad settings``)."""
    rows = ["| variable | default | accepts | effect |", "| --- | --- | --- | --- |"]
    for setting in _ALL:
        if section is None or setting.section == section:
            rows.append(f"| `{setting.name}` | {_shown(setting.default)} | {setting.accepts} | {setting.help} |")
    return "\n".join(rows)


def sections() -> list[str]:
    """The settings' sections, in the order they are declared."""
    return list(dict.fromkeys(setting.section for setting in _ALL))


def is_set(name: str, environ: Mapping[str, str] | None = None) -> bool:
    """Whether the variable ``name`` is in the environment (even empty), rather than defaulted."""
    return name in (os.environ if environ is None else environ)


#: The heading and introduction of ``docs/settings.md``.
PAGE_INTRO = """# Settings

Every `TRAINPAD_*` environment variable trainpad reads, by section.  The command line and
`python app.py` check them all at start-up: a value that is not accepted stops them there
(exit status 2) with a message naming the variable, the value and what is accepted.  An
empty value counts as unset unless its row says otherwise.  `trainpad settings` prints the
values in effect; `trainpad settings --json` the same as JSON.

This page down to the contributors' section is written by `trainpad settings --markdown`
from `core/settings.py` (`trainpad.settings`), where each variable is declared; a test
checks that the two agree."""


def markdown_page() -> str:
    """``docs/settings.md`` down to its contributors' section: every setting, a table per section."""
    parts = [PAGE_INTRO]
    for section in sections():
        parts.append(f"## {section[:1].upper()}{section[1:]}\n\n{markdown_table(section)}")
    return "\n\n".join(parts) + "\n"


def _shown(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "`1`" if value else "`0`"
    if isinstance(value, list):
        return "empty" if not value else ", ".join(value)
    if isinstance(value, float) and value.is_integer():
        return f"`{int(value)}`"
    if isinstance(value, int) and value >= 10_000:
        return f"`{value:,}`".replace(",", "\u202f")
    return f"`{value}`"


__all__ = [
    "Setting", "SettingError", "SETTINGS", "get", "check", "is_set", "data_dir", "cache_dir", "offline",
    "sections", "markdown_table", "markdown_page",
]
