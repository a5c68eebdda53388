"""The Plugins tab's content: every plugin with its version, status, components and tabs.

Plain data (:func:`plugin_listing`, also served as ``/plugins`` JSON) and its HTML table
(``templates/plugins.html``; what plugins wrote about themselves is escaped there).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trainpad.web.i18n import tr

if TYPE_CHECKING:
    from trainpad.engine.engine import Engine


def plugin_listing(engine: "Engine") -> dict[str, Any]:
    """Plugins (name, version, status, error, hooks, components) and tabs, as JSON-ready data."""
    plugins = []
    for info in sorted(engine.plugins.values(), key=lambda i: (i.status == "loaded", i.builtin, i.name)):
        entry = info.to_dict()
        entry["components"] = [
            {"kind": c.kind, "name": c.name, "description": c.description}
            for c in engine.registry
            if c.plugin == info.name
        ]
        entry["tabs"] = [tab.label for tab in engine.tabs if tab.plugin == info.name]
        plugins.append(entry)
    return {
        "plugins": plugins,
        "failed": [info.name for info in engine.failed_plugins()],
        "components": len(engine.registry),
    }


def listing_html(engine: "Engine") -> str:
    """The listing as an HTML table, failures first (in the current language, see :func:`trainpad.web.i18n.tr`)."""
    from markupsafe import Markup

    from trainpad.web.render import render

    data = plugin_listing(engine)
    failed = len(data["failed"])
    return render(
        "plugins.html",
        counts=tr("{plugins} plugins, {components} components", plugins=len(data["plugins"]), components=data["components"]),
        failed=tr("{failed} with errors", failed=failed) if failed else "",
        no_errors=tr("no errors"),
        # the catalog's own sentence, its <code> ours (no value goes in)
        install=Markup(tr("Install a plugin with <code>pip install</code> and restart the app; <code>TRAINPAD_DISABLE_PLUGINS=name</code> turns one off.")),
        columns=[tr(name) for name in ("Plugin", "Status", "Provides")],
        plugins=[_row(entry) for entry in data["plugins"]],
    )


def _row(entry: dict[str, Any]) -> dict[str, Any]:
    """A plugin's row: where it comes from, its status, what it provides, its error."""
    things = [{"kind": tr(c["kind"]), "name": c["name"], "description": c["description"]} for c in entry["components"]]
    things += [{"kind": tr("tab"), "name": tr(label), "description": ""} for label in entry["tabs"]]
    return {
        "name": entry["name"],
        "origin": tr("built-in") if entry["builtin"] else entry.get("dist") or tr("entry point"),
        "version": entry.get("version") or "",
        "status": entry["status"],
        "status_text": tr(entry["status"]),
        "things": things,
        "error": entry.get("error") or "",
    }
