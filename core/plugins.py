"""Finding and loading plugins: the built-ins and the entry-point group ``trainpad``.

Loading is guarded plugin by plugin: one that fails to import, fails to register or
implements a hook that does not exist is recorded as ``failed`` with its reason, and
everything else loads.  Settings are read from the environment when
:func:`load_plugins` runs, not at import:

``TRAINPAD_LOAD_PLUGINS``
    Comma-separated third-party plugins (entry-point or distribution names) to load;
    unset loads all, empty loads none.
``TRAINPAD_DISABLE_PLUGINS``
    Comma-separated plugins to block, built-ins included (``sgd``, ``csv_log``...).
``TRAINPAD_TRACE_PLUGINS``
    ``1`` prints every hook call and its result to stderr.
``TRAINPAD_STRICT_PLUGINS``
    ``1`` raises on the first plugin failure instead of reporting it (tests use it).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Iterable

import pluggy

from core import hookspecs

log = logging.getLogger("trainpad.plugins")

#: Entry-point group and pluggy project name.
PROJECT = "trainpad"

#: Built-in plugins: module names, registered after third-party ones so that
#: they are called first and win any clash of names.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "plugins.mnist",
    "plugins.mnist_cnn",
    "plugins.sgd",
    "plugins.adamw",
    "plugins.nll",
    "plugins.csv_log",
)


class PluginError(RuntimeError):
    """A plugin failed and strict mode is on."""


@dataclass
class PluginInfo:
    """What is known about one plugin, for ``trainpad plugins`` and the Plugins tab.

    :param status: ``loaded``, ``failed`` or ``blocked``.
    """

    name: str
    dist: str | None = None
    version: str | None = None
    builtin: bool = False
    status: str = "loaded"
    error: str | None = None
    hooks: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str) -> list[str] | None:
    """A comma-separated setting: ``None`` when unset, ``[]`` when empty."""
    value = os.environ.get(name)
    if value is None:
        return None
    return [item.strip() for item in value.split(",") if item.strip()]


def make_plugin_manager() -> pluggy.PluginManager:
    """A fresh plugin manager with trainpad's hook specifications and nothing registered."""
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    """The entry points of group ``trainpad``, one per name, sorted by name."""
    seen: dict[str, importlib.metadata.EntryPoint] = {}
    for ep in importlib.metadata.entry_points(group=PROJECT):
        seen.setdefault(ep.name, ep)  # a dist seen twice (a lib64 symlink) loads once
    return [seen[name] for name in sorted(seen)]


class PluginLoader:
    """Loads plugins into a manager and keeps a :class:`PluginInfo` for each."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self.infos: dict[str, PluginInfo] = {}
        self.strict = env_flag("TRAINPAD_STRICT_PLUGINS")

    def fail(self, name: str, reason: str, exc: BaseException | None = None) -> None:
        """Record that plugin ``name`` failed; unregister it; raise in strict mode."""
        info = self.infos.setdefault(name, PluginInfo(name))
        info.status = "failed"
        info.error = reason
        log.warning('Error in plugin "%s": %s', name, reason)
        plugin = self.pm.get_plugin(name)
        if plugin is not None:
            self.pm.unregister(plugin, name=name)
        if self.strict:
            raise PluginError(f'plugin "{name}": {reason}') from exc

    def load(self, *, entrypoints: bool = True, builtins: Iterable[str] = DEFAULT_PLUGINS) -> None:
        blocked = set(env_list("TRAINPAD_DISABLE_PLUGINS") or [])
        wanted = env_list("TRAINPAD_LOAD_PLUGINS")
        for name in sorted(blocked):
            self.pm.set_blocked(name)
        if entrypoints:
            for ep in _entry_points():
                dist = ep.dist.name if ep.dist else None
                if wanted is not None and ep.name not in wanted and dist not in wanted:
                    continue
                self._load_entry_point(ep, blocked)
        for module_name in builtins:
            name = module_name.rsplit(".", 1)[-1]
            if name in blocked:
                self.infos[name] = PluginInfo(name, builtin=True, status="blocked")
                continue
            self._register(name, lambda m=module_name: importlib.import_module(m), PluginInfo(name, builtin=True))
        if env_flag("TRAINPAD_TRACE_PLUGINS"):
            self.pm.trace.root.setwriter(sys.stderr.write)
            self.pm.enable_tracing()

    def _load_entry_point(self, ep: importlib.metadata.EntryPoint, blocked: set[str]) -> None:
        dist = ep.dist
        info = PluginInfo(ep.name, dist=dist.name if dist else None, version=dist.version if dist else None)
        if ep.name in blocked or info.dist in blocked:
            info.status = "blocked"
            self.infos[ep.name] = info
            return
        if self.pm.get_plugin(ep.name) is not None:
            return
        self._register(ep.name, ep.load, info)

    def _register(self, name: str, load: Any, info: PluginInfo) -> None:
        self.infos[name] = info
        try:
            plugin = load()
        except Exception as exc:
            return self.fail(name, f"cannot import it: {type(exc).__name__}: {exc}", exc)
        try:
            self.pm.register(plugin, name=name)
        except Exception as exc:
            return self.fail(name, f"cannot register it: {type(exc).__name__}: {exc}", exc)
        unknown = [hc.name for hc in self.pm.get_hookcallers(plugin) or [] if not hc.has_spec()]
        if unknown:
            return self.fail(
                name,
                f"implements {', '.join(sorted(unknown))}, which is not a trainpad hook "
                "(see docs/plugins.md for the hook names)",
            )
        info.hooks = sorted(hc.name for hc in self.pm.get_hookcallers(plugin) or [])
        if info.builtin and info.version is None:
            from core import __version__

            info.version = __version__


def load_plugins(pm: pluggy.PluginManager, *, entrypoints: bool = True) -> dict[str, PluginInfo]:
    """Register the entry-point plugins and the built-ins with ``pm``.

    :param entrypoints: ``False`` loads the built-ins only (tests use it, so that
        installed plugins cannot change their results).
    :return: a :class:`PluginInfo` per plugin name, failures included.
    """
    loader = PluginLoader(pm)
    loader.load(entrypoints=entrypoints)
    return loader.infos
