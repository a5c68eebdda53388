"""The Predict tab's "Publish as a web page": the session's current model as a zip of its page.

Free of Gradio, so tests call it directly.  The page is :func:`trainpad.publish.build_site`'s,
the same folder ``trainpad publish`` writes, zipped.

Publishing exports the model to ONNX and checks it against PyTorch: seconds of CPU and a few
hundred megabytes the first time the exporter is imported.  On a public server that is
bounded three ways: one page is made at a time (the event's concurrency limit), each client
may have ``TRAINPAD_MAX_PUBLISHES_PER_CLIENT`` pages made per hour (0 turns the button off),
and a model published once is not exported again while it lives: every session that starts
on the shipped model gets the same file.  The zips of the last :data:`KEPT` models published
are kept, one file each, in the sessions' folder (``SessionStore.root``), whoever asked; an
older one is deleted when a newer one takes its place (Gradio serves its own copy, kept an hour).
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
import weakref
from collections import OrderedDict, deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from trainpad.engine.message import msg
from trainpad.publish import build_site, zip_site
from trainpad.web.i18n import tr
from trainpad.web.limits import limits
from trainpad.web.messages import UserError, user_errors

if TYPE_CHECKING:
    from trainpad.engine.engine import Engine
    from trainpad.engine.trained_model import TrainedModel
    from trainpad.web.sessions import SessionStore

#: The window over which a client's pages are counted (seconds).
WINDOW = 3600.0
#: Pages kept on disk (about 4 MB each), for the next session that publishes the same model.
KEPT = 4


@dataclass(frozen=True)
class PageZip:
    """A zipped page (``<model>-on-<dataset>.zip``), and one line saying what to do with it."""

    path: Path
    message: str


class Publisher:
    """Makes the session's current model into a page, bound to an engine and a session store.

    :param data_dir: where the models' datasets are, for the page's test images (default:
        ``TRAINPAD_DATA_DIR``).
    """

    def __init__(
        self, engine: "Engine", store: "SessionStore", *, data_dir: Path | str | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.engine = engine
        self.store = store
        self.data_dir = data_dir
        self.clock = clock
        self._made: dict[str, deque[float]] = {}
        self._pages: OrderedDict[int, tuple[weakref.ref, Path]] = OrderedDict()
        self._lock = threading.Lock()

    def publish(self, session_id: str, client: str) -> PageZip:
        """The zip of the page of the session's current model.

        :raises trainpad.web.messages.UserError: no model, publishing is off or this client
            has had its pages for the hour, or the model cannot be published (why).
        """
        session = self.store.get(session_id)
        trained = session.model
        if trained is None:
            raise UserError("There is no model to publish yet: train one in the Train tab or load a checkpoint there.")
        path = self._page_of(trained)
        if path is None:
            self._charge(client, limits().max_publishes_per_client)
            with user_errors("Publishing"):

                site = build_site(self.engine, trained, data_dir=self.data_dir)
                path = Path(tempfile.mkdtemp(prefix="page-", dir=self.store.root)) / f"{site.slug}.zip"
                path.write_bytes(zip_site(site))
            self._keep(trained, path)
        return PageZip(path, tr("{file}: unzip it and serve the folder, or push the folder to a static Hugging Face Space.", file=path.name))

    def _page_of(self, trained: "TrainedModel") -> Path | None:
        with self._lock:
            kept = self._pages.get(id(trained))
            if kept is None or kept[0]() is not trained or not kept[1].is_file():  # an id reused by another model
                return None
            self._pages.move_to_end(id(trained))
            return kept[1]

    def _keep(self, trained: "TrainedModel", path: Path) -> None:
        with self._lock:
            self._pages[id(trained)] = (weakref.ref(trained), path)
            while len(self._pages) > KEPT:
                _, (_, old) = self._pages.popitem(last=False)
                shutil.rmtree(old.parent, ignore_errors=True)

    def _charge(self, client: str, allowed: int) -> None:
        """Count one page made for ``client``, or refuse it (:class:`UserError`)."""
        if allowed <= 0:
            raise UserError("This server does not publish pages (TRAINPAD_MAX_PUBLISHES_PER_CLIENT is 0): run `trainpad publish` on your own computer.")
        now = self.clock()
        with self._lock:
            for key in list(self._made):
                made = self._made[key]
                while made and now - made[0] > WINDOW:
                    made.popleft()
                if not made:
                    del self._made[key]
            made = self._made.setdefault(client, deque())
            if len(made) >= allowed:
                wait = max(1, round((WINDOW - (now - made[0])) / 60))
                raise UserError(
                    msg(
                        "This server makes at most {allowed} pages an hour per visitor (TRAINPAD_MAX_PUBLISHES_PER_CLIENT): try again in {wait} "
                        "minute(s), or run `trainpad publish` on your own computer.",
                        allowed=allowed, wait=wait,
                    )
                )
            made.append(now)


__all__ = ["Publisher", "PageZip"]
