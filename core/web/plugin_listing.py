"""The Plugins tab's content: every plugin with its version, status, components and tabs.

Plain data (:func:`plugin_listing`, also served as ``/plugins`` JSON) and its HTML table.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

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
    from trainpad.web.i18n import tr

    data = plugin_listing(engine)
    rows = []
    for entry in data["plugins"]:
        name = html.escape(entry["name"])
        origin = tr("built-in") if entry["builtin"] else html.escape(entry.get("dist") or tr("entry point"))
        version = html.escape(entry.get("version") or "")
        status = entry["status"]
        badge = f'<span class="tp-badge tp-{html.escape(status)}">{html.escape(tr(status))}</span>'
        things = [
            f"{html.escape(tr(c['kind']))} <code>{html.escape(c['name'])}</code>"
            + (f" <span class='tp-sub'>{html.escape(c['description'])}</span>" if c["description"] else "")
            for c in entry["components"]
        ]
        things += [f"{tr('tab')} <code>{html.escape(tr(label))}</code>" for label in entry["tabs"]]
        error = f'<div class="tp-error">{html.escape(entry["error"])}</div>' if entry.get("error") else ""
        rows.append(
            f"<tr><td><b>{name}</b><div class='tp-sub'>{origin} {version}</div></td>"
            f"<td>{badge}</td><td>{'<br>'.join(things) or '—'}{error}</td></tr>"
        )
    failed = len(data["failed"])
    head = (
        "<p>" + tr("{plugins} plugins, {components} components", plugins=len(data["plugins"]), components=data["components"])
        + (f", <b class='tp-failed-text'>{tr('{failed} with errors', failed=failed)}</b>" if failed else f", {tr('no errors')}")
        + ". " + tr("Install a plugin with <code>pip install</code> and restart the app; <code>TRAINPAD_DISABLE_PLUGINS=name</code> turns one off.")
        + "</p>"
    )
    columns = "".join(f"<th>{tr(name)}</th>" for name in ("Plugin", "Status", "Provides"))
    return (
        head + f'<div class="tp-scroll-x"><table class="tp-plugins"><thead><tr>{columns}</tr></thead><tbody>'
        + "".join(rows) + "</tbody></table></div>"
    )
