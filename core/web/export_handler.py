"""The Train tab's "Download as a script": the form's run as a standalone PyTorch file.

Free of Gradio, so tests call it directly.  The script is the run that Start would make
with the same form (the server's limits applied the same way), written by
:func:`trainpad.engine.export.export_script` into the session's own folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from trainpad.engine.message import msg
from trainpad.web.limits import limits
from trainpad.web.messages import user_errors

if TYPE_CHECKING:
    from trainpad.engine.config import TrainConfig
    from trainpad.engine.engine import Engine
    from trainpad.engine.export import ExportedScript
    from trainpad.web.sessions import SessionStore


@dataclass(frozen=True)
class ScriptFile:
    """A written script: where it is, and one line saying what it does (or what it lacks)."""

    path: Path
    message: str


class Exporter:
    """Writes a session's runs as scripts, bound to an engine and a session store."""

    def __init__(self, engine: "Engine", store: "SessionStore") -> None:
        self.engine = engine
        self.store = store

    def export(self, session_id: str, config: "TrainConfig") -> ScriptFile:
        """Write ``config``'s run as a script in the session's folder.

        :raises trainpad.web.messages.UserError: for a run that Start would refuse.
        """
        server = limits()
        config = server.capped(config)  # as Start trains it
        with user_errors("Writing the script"):
            exported = self.engine.export_script(config, run_params=server.run_params())
        return save_script(self.store, session_id, exported, msg(
            "python {file} trains this run with torch and torchvision alone.",
            file=exported.filename,
        ))


def save_script(store: "SessionStore", session_id: str, exported: "ExportedScript", does: str) -> ScriptFile:
    """Write ``exported`` into the session's folder; the message says what it ``does``
    (``python x.py trains this run...``), or what it lacks."""
    path = store.get(session_id).folder() / exported.filename
    path.write_text(exported.source, encoding="utf-8")
    if exported.missing:
        lacking = "; ".join(line.split(":")[0] for line in exported.missing)
        message = msg(
            "{file}: not everything could be written out ({lacking}); the file says what to put there.",
            file=exported.filename, lacking=lacking,
        )
    else:
        message = does
    return ScriptFile(path, message)
