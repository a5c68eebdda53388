"""Finding and loading plugins: the built-ins and the entry-point group ``trainpad``.

Loading is guarded plugin by plugin: one that fails to import, fails to register or
implements a hook that does not exist is recorded as ``failed`` with its reason, and
everything else loads.  Settings are read from the environment when
:func:`load_plugins` runs, not at import:

``TRAINPAD_LOAD_PLUGINS``
    Comma-separated third-party plugins (entry-point or distribution names) to load;
    unset loads all, empty loads none.  The others are listed as ``blocked``.
``TRAINPAD_DISABLE_PLUGINS``
    Comma-separated plugins to block, built-ins included (``sgd``, ``csv_log``...).
``TRAINPAD_TRACE_PLUGINS``
    ``1`` prints to stderr each plugin as it loads, each hook call and each
    component registered.
``TRAINPAD_STRICT_PLUGINS``
    ``1`` raises on the first plugin failure instead of reporting it (tests use it).
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import logging
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import pluggy

from trainpad import hookspecs, settings

log = logging.getLogger("trainpad.plugins")

#: Entry-point group and pluggy project name.
PROJECT = "trainpad"

#: Built-in plugins: module names, registered after third-party ones so that
#: they are called first and win any clash of names.  Their components are listed
#: (in dropdowns, ``trainpad plugins``) in this order.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "trainpad.plugins.mnist",
    "trainpad.plugins.fashion_mnist",
    "trainpad.plugins.kmnist",
    "trainpad.plugins.softmax_regression",
    "trainpad.plugins.mlp",
    "trainpad.plugins.lenet5",
    "trainpad.plugins.mnist_cnn",
    "trainpad.plugins.sgd",
    "trainpad.plugins.adam",
    "trainpad.plugins.adamw",
    "trainpad.plugins.rmsprop",
    "trainpad.plugins.nll",
    "trainpad.plugins.cross_entropy",
    "trainpad.plugins.csv_log",
    "trainpad.plugins.lab_seed",
    "trainpad.plugins.lab_zero_grad",
    "trainpad.plugins.lab_train_eval",
    "trainpad.plugins.lab_no_grad",
    "trainpad.plugins.lab_batch_size",
    "trainpad.plugins.lab_shuffle",
    "trainpad.plugins.lab_conv",
    "trainpad.plugins.train_tab",
    "trainpad.plugins.evaluate_tab",
    "trainpad.plugins.lab_tab",
    "trainpad.plugins.predict_tab",
    "trainpad.plugins.plugins_tab",
)


class PluginError(RuntimeError):
    """A plugin failed and strict mode (``TRAINPAD_STRICT_PLUGINS=1``) is on."""


@dataclass
class PluginInfo:
    """What is known about one plugin, for ``trainpad plugins`` and the Plugins tab.

    :param name: the plugin's name: its entry-point name, or a built-in's module name.
    :param dist: the distribution (pip package) it came from; ``None`` for built-ins.
    :param version: that distribution's version (trainpad's for built-ins).
    :param builtin: one of trainpad's own plugins.
    :param status: ``loaded``, ``failed`` or ``blocked`` (switched off by
        ``TRAINPAD_DISABLE_PLUGINS`` or left out by ``TRAINPAD_LOAD_PLUGINS``).
    :param error: why it failed, or which of its components were refused.
    :param hooks: the hooks it implements.
    :param blocked_by: for a ``blocked`` plugin, the setting that switched it off
        (``TRAINPAD_DISABLE_PLUGINS`` or ``TRAINPAD_LOAD_PLUGINS``).
    """

    name: str
    dist: str | None = None
    version: str | None = None
    builtin: bool = False
    status: str = "loaded"
    error: str | None = None
    hooks: list[str] = field(default_factory=list)
    blocked_by: str | None = None

    def switched_off(self) -> str:
        """Why this plugin does not work and what to do, for messages: ``plugin 'x' is
        disabled by ...`` or ``plugin 'x' failed to load: ...`` (empty when it is loaded)."""
        if self.status == "blocked" and self.blocked_by == "TRAINPAD_LOAD_PLUGINS":
            return (
                f"plugin {self.name!r} is disabled: TRAINPAD_LOAD_PLUGINS does not name it "
                "(add it there, or unset TRAINPAD_LOAD_PLUGINS to load every installed plugin)"
            )
        if self.status == "blocked":
            return f"plugin {self.name!r} is disabled by TRAINPAD_DISABLE_PLUGINS (take it out of that list to use it)"
        if self.status == "failed":
            return f"plugin {self.name!r} failed to load: {self.error}"
        return ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy, for ``trainpad plugins --json``."""
        return {**self.__dict__, "hooks": list(self.hooks)}


def normalize(name: str) -> str:
    """A distribution name the way pip compares them: ``Trainpad_Demo.Plugin`` -> ``trainpad-demo-plugin``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def make_plugin_manager() -> pluggy.PluginManager:
    """A fresh plugin manager with trainpad's hook specifications and nothing registered."""
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    """Every entry point of group ``trainpad``, sorted by name (duplicates kept: the loader drops them).

    Tests replace this function to feed the loader fake entry points.
    """
    return sorted(importlib.metadata.entry_points(group=PROJECT), key=lambda ep: ep.name)


class PluginLoader:
    """Loads plugins into a manager and keeps a :class:`PluginInfo` for each.

    Every step that runs a plugin's code is guarded: a failure is recorded on that
    plugin (and logged), the plugin is unregistered, and loading goes on.
    """

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self.infos: dict[str, PluginInfo] = {}
        self.strict = settings.get("TRAINPAD_STRICT_PLUGINS")
        self.trace = pm.trace.root.get("load")

    def fail(self, name: str, reason: str, exc: BaseException | None = None, *, plugin: Any = None) -> None:
        """Record that plugin ``name`` failed and unregister ``plugin``; raise in strict mode."""
        info = self.infos.setdefault(name, PluginInfo(name))
        info.status = "failed"
        info.error = reason
        info.hooks = []
        log.warning('Error in plugin "%s": %s', name, reason)
        self.trace("failed", name, {"reason": reason})
        if plugin is not None and self.pm.get_plugin(name) is plugin:
            self.pm.unregister(plugin, name=name)
        if self.strict:
            raise PluginError(f'plugin "{name}": {reason}') from exc

    def load(self, *, entrypoints: bool = True, builtins: Iterable[str] = DEFAULT_PLUGINS, extra: Sequence[Any] = ()) -> None:
        """Register the entry-point plugins, then the built-ins (which are therefore called first),
        then ``extra`` plugin objects or modules (tests' own, checked as installed plugins are)."""
        if settings.get("TRAINPAD_TRACE_PLUGINS"):
            # A lambda, so that the writer follows sys.stderr when it is replaced (pytest's capture).
            self.pm.trace.root.setwriter(lambda text: sys.stderr.write(text))
            self.pm.enable_tracing()
        builtins = tuple(builtins)
        blocked = set(settings.get("TRAINPAD_DISABLE_PLUGINS"))
        for name in sorted(blocked):
            self.pm.set_blocked(name)
        if entrypoints:
            reserved = {module_name.rsplit(".", 1)[-1] for module_name in builtins}
            self._load_entry_points(_entry_points(), blocked, settings.get("TRAINPAD_LOAD_PLUGINS"), reserved)
        for module_name in builtins:
            name = module_name.rsplit(".", 1)[-1]
            if name in blocked:
                self.infos[name] = PluginInfo(name, builtin=True, status="blocked", blocked_by="TRAINPAD_DISABLE_PLUGINS")
                self.trace("blocked", name, "(TRAINPAD_DISABLE_PLUGINS)")
                continue
            self._register(name, lambda m=module_name: importlib.import_module(m), PluginInfo(name, builtin=True))
        for i, plugin in enumerate(extra):
            name = getattr(plugin, "__name__", None) or f"test-plugin-{i}"
            self._register(name, lambda p=plugin: p, PluginInfo(name))

    def _load_entry_points(
        self,
        entry_points: Iterable[importlib.metadata.EntryPoint],
        blocked: set[str],
        wanted: list[str] | None,
        reserved: set[str],
    ) -> None:
        blocked_dists = {normalize(name) for name in blocked}
        wanted_names = None if wanted is None else set(wanted) | {normalize(name) for name in wanted}
        origin: dict[str, tuple[str | None, str]] = {}  # entry-point name -> (dist, value) that took it
        for ep in entry_points:
            dist = ep.dist.name if ep.dist else None
            if ep.name in origin:
                if origin[ep.name] != (dist, ep.value):
                    key = f"{ep.name} ({dist})"
                    self.infos[key] = PluginInfo(key, dist=dist, version=ep.dist.version if ep.dist else None)
                    self.fail(
                        key,
                        f"its entry point {ep.name!r} is already taken by {origin[ep.name][0] or ep.name!r}; "
                        "two plugins cannot share a name (rename one entry point)",
                    )
                continue  # the same distribution seen twice (a lib64 symlink, say): load it once
            origin[ep.name] = (dist, ep.value)
            info = PluginInfo(ep.name, dist=dist, version=ep.dist.version if ep.dist else None)
            if ep.name in blocked or (dist and normalize(dist) in blocked_dists):
                info.status, info.blocked_by = "blocked", "TRAINPAD_DISABLE_PLUGINS"
                self.infos[ep.name] = info
                self.trace("blocked", ep.name, "(TRAINPAD_DISABLE_PLUGINS)")
                continue
            if wanted_names is not None and ep.name not in wanted_names and normalize(dist or "") not in wanted_names:
                info.status, info.blocked_by = "blocked", "TRAINPAD_LOAD_PLUGINS"
                self.infos[ep.name] = info
                self.trace("blocked", ep.name, "(not named in TRAINPAD_LOAD_PLUGINS)")
                continue
            if ep.name in reserved:  # listed under another key: the built-in keeps its own
                key = f"{ep.name} ({dist})"
                self.infos[key] = PluginInfo(key, dist=info.dist, version=info.version)
                self.fail(key, f"its entry point {ep.name!r} is the name of a built-in plugin; rename the entry point")
                continue
            self._register(ep.name, ep.load, info)
        if wanted:
            found = set(origin) | {normalize(d) for d, _ in origin.values() if d}
            missing = [name for name in wanted if name not in found and normalize(name) not in found]
            if missing:
                log.warning("TRAINPAD_LOAD_PLUGINS names %s, which is not installed", ", ".join(missing))

    def _register(self, name: str, load: Callable[[], Any], info: PluginInfo) -> None:
        self.infos[name] = info
        try:
            plugin = load()
        except (Exception, SystemExit) as exc:  # a plugin's import can raise anything, even exit
            return self.fail(name, f"cannot import it: {type(exc).__name__}: {exc}", exc)
        try:
            self.pm.register(plugin, name=name)
        except Exception as exc:
            return self.fail(name, f"cannot register it: {type(exc).__name__}: {exc}", exc, plugin=plugin)
        callers = self.pm.get_hookcallers(plugin) or []
        unknown = sorted(
            hc.name
            for hc in callers
            if not hc.has_spec() and not all(impl.optionalhook for impl in hc.get_hookimpls() if impl.plugin is plugin)
        )
        if unknown:
            return self.fail(name, not_a_hook(unknown), plugin=plugin)
        info.hooks = sorted(hc.name for hc in callers if hc.has_spec())
        if info.builtin and info.version is None:
            from trainpad import __version__

            info.version = __version__
        where = "built-in" if info.builtin else f"{info.dist} {info.version}" if info.dist else "plugin"
        self.trace("loaded", name, f"({where})", {"hooks": ", ".join(info.hooks) or "none"})


def hook_names() -> list[str]:
    """The names of trainpad's hooks (those of :mod:`trainpad.hookspecs`)."""
    return sorted(name for name, value in vars(hookspecs).items() if hasattr(value, f"{PROJECT}_spec"))


def not_a_hook(unknown: list[str]) -> str:
    """Why a plugin implementing the hooks ``unknown`` fails: the closest real hook to each, every
    hook's name, and where an installed trainpad documents them (pip installs no ``docs/`` folder)."""
    hooks = hook_names()
    matches = {name: found[0] for name in unknown if (found := difflib.get_close_matches(name, hooks, n=1))}
    guess = f" (did you mean {', '.join(f'{m} for {name}' for name, m in matches.items())}?)" if matches else ""
    which = "which is not a trainpad hook" if len(unknown) == 1 else "which are not trainpad hooks"
    return (
        f"implements {', '.join(unknown)}, {which}{guess}; the hooks are {', '.join(hooks)}: "
        "`python -m pydoc trainpad.hookspecs` documents them"
    )


def load_plugins(pm: pluggy.PluginManager, *, entrypoints: bool = True, extra: Sequence[Any] = ()) -> dict[str, PluginInfo]:
    """Register the entry-point plugins and the built-ins with ``pm``.

    Reads ``TRAINPAD_LOAD_PLUGINS``, ``TRAINPAD_DISABLE_PLUGINS``,
    ``TRAINPAD_TRACE_PLUGINS`` and ``TRAINPAD_STRICT_PLUGINS`` now, not at import.

    :param entrypoints: ``False`` loads the built-ins only (tests use it, so that
        installed plugins cannot change their results).
    :param extra: plugin objects or modules to register after the built-ins, checked as
        installed plugins are (``trainpad.testing``'s ``engine_with`` passes its own).
    :return: a :class:`PluginInfo` per plugin name, failures included.
    :raises PluginError: in strict mode, at the first plugin that fails.
    """
    loader = PluginLoader(pm)
    loader.load(entrypoints=entrypoints, extra=extra)
    return loader.infos
