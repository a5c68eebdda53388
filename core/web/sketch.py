"""The sketch pad's pictures, received and decoded by trainpad rather than by Gradio.

In the browser, Gradio's sketch pad (an ``ImageEditor``) posts its background, each
layer and the flattened composite to the component's ``accept_blobs`` server function,
then sends the event with only the blob's id.  Gradio keeps those blobs in one dict per
component, shared by every session, unbounded, keyed by whatever id a client picks; a
layer index of 5,000,000 grows a list of that length.  Here:

- :class:`SketchBlobs` keeps only each drawing's composite (the one picture a
  prediction needs), per session (a blob posted under one session id is not found from
  another), at most a few per session and :data:`STORE_BYTES` in all, oldest dropped
  first; backgrounds and layers are counted, never kept;
- :func:`read_sketch` turns the event's raw value (``preprocess=False``) into a picture,
  opening the composite itself with trainpad's allow-list of formats and pixel cap, so
  every refusal (too many layers, not a picture, too many pixels) is trainpad's message
  instead of Gradio's empty error;
- :func:`make_sketchpad` builds the pad whose ``accept_blobs`` feeds a :class:`SketchBlobs`.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from trainpad.engine.pictures import ImageError, open_picture
from trainpad.web.uploads import as_array, from_upload

#: The largest blob kept (an 800x800 RGBA PNG composite is far smaller).
BLOB_BYTES = 4 * 2**20
#: All sessions' pending composites together; past it the oldest are dropped.
STORE_BYTES = 64 * 2**20
#: Drawings of one session waiting for their event (the browser sends one at a time).
PER_SESSION = 4
#: Drawings waiting in all (each small, but ids are the client's to pick).
MAX_ITEMS = 4096
#: Session and blob ids: what Gradio's page and client generate, and no more.
ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass
class SketchUpload:
    """One drawing as the browser posted it: its composite, and what else came with it."""

    composite: bytes | None = None
    layers: int = 0
    #: why the drawing is refused (a layer index past the cap, a blob too big), if it is
    problem: str | None = None

    @property
    def nbytes(self) -> int:
        return len(self.composite or b"")


class SketchBlobs:
    """The composites of drawings posted by the browser, per session, bounded.

    :param max_layers: the highest layer count accepted (``TRAINPAD_MAX_SKETCH_LAYERS``).
    """

    def __init__(self, *, max_layers: int = 4, store_bytes: int = STORE_BYTES, blob_bytes: int = BLOB_BYTES) -> None:
        self.max_layers = max_layers
        self.store_bytes = store_bytes
        self.blob_bytes = blob_bytes
        self._items: OrderedDict[tuple[str, str], SketchUpload] = OrderedDict()
        self._lock = threading.Lock()
        self.nbytes = 0

    def put(self, session: Any, blob_id: Any, kind: Any, index: Any, content: bytes) -> None:
        """Take one part of a drawing (``kind`` is ``background``, ``layer`` or ``composite``).

        Parts with an id or session id no page makes are dropped; a layer index at or past
        ``max_layers`` or a blob over ``blob_bytes`` marks the drawing refused (its event
        then says why) and nothing of it is kept.
        """
        session, blob_id = str(session or ""), str(blob_id or "")
        if not ID.fullmatch(session) or not ID.fullmatch(blob_id) or kind not in ("background", "layer", "composite"):
            return
        with self._lock:
            key = (session, blob_id)
            upload = self._items.pop(key, None) or SketchUpload()
            self.nbytes -= upload.nbytes
            if kind == "layer":
                layer = _whole(index)
                upload.layers = max(upload.layers, (layer + 1) if layer is not None else upload.layers + 1)
                if layer is None or layer < 0 or layer >= self.max_layers:
                    upload.problem = f"a drawing may have at most {self.max_layers} layer(s) (TRAINPAD_MAX_SKETCH_LAYERS)"
            if len(content) > self.blob_bytes:
                upload.problem = f"a drawing's pictures may be at most {self.blob_bytes // 2**20} MB each"
            if kind == "composite" and upload.problem is None:
                upload.composite = bytes(content)
            if upload.problem is not None:
                upload.composite = None
            self._items[key] = upload
            self.nbytes += upload.nbytes
            mine = [k for k in self._items if k[0] == session]
            for old in mine[:-PER_SESSION]:
                self.nbytes -= self._items.pop(old).nbytes
            while (self.nbytes > self.store_bytes or len(self._items) > MAX_ITEMS) and self._items:
                _, dropped = self._items.popitem(last=False)
                self.nbytes -= dropped.nbytes

    def take(self, session: str, blob_id: Any) -> SketchUpload | None:
        """The drawing ``blob_id`` posted by ``session``, removed; ``None`` if there is none."""
        with self._lock:
            upload = self._items.pop((str(session), str(blob_id)), None)
            if upload is not None:
                self.nbytes -= upload.nbytes
            return upload

    def __len__(self) -> int:
        return len(self._items)


def _whole(value: Any) -> int | None:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number


def read_sketch(value: Any, session: str, blobs: SketchBlobs | None, *, max_layers: int) -> Any:
    """A picture from the sketch event's raw value, or the value itself when it is none.

    - the browser's ``{"id": ...}``: that session's posted composite, opened here;
    - ``{"background", "layers", "composite"}`` of uploaded files (the HTTP API): at most
      ``max_layers`` layers, and only the composite is opened (:func:`from_upload`);
    - ``None`` (a cleared pad), arrays and PIL images (tests) pass through.

    :raises ImageError: too many layers, a drawing that never arrived, or a composite that
        is not a picture trainpad reads.
    """
    if not isinstance(value, dict):
        return value
    blob_id = value.get("id")
    if blob_id is not None:
        upload = blobs.take(session, blob_id) if blobs is not None else None
        if upload is None:
            raise ImageError("the drawing did not reach the server (it may have expired); draw it again")
        if upload.problem:
            raise ImageError(upload.problem)
        if upload.composite is None:
            return None
        return as_array(open_picture(io.BytesIO(upload.composite)))
    layers = value.get("layers")
    if layers is not None and (not isinstance(layers, list) or len(layers) > max_layers):
        count = len(layers) if isinstance(layers, list) else "not a list of"
        raise ImageError(f"a drawing may have at most {max_layers} layer(s) (TRAINPAD_MAX_SKETCH_LAYERS); this one has {count}")
    if "composite" not in value:
        raise ImageError("expected a sketch with a 'composite' picture")
    return from_upload(value["composite"])


def style_js(css: str) -> str:
    """JavaScript for a ``js_on_load`` that adds ``css`` to the page, once however often it runs."""
    key = "tp-css-" + hashlib.sha1(css.encode()).hexdigest()[:10]
    return (
        f"\n{{const id = {json.dumps(key)};\n if (!document.getElementById(id)) {{\n"
        f"   const style = document.createElement('style'); style.id = id; style.textContent = {json.dumps(css)};"
        " document.head.appendChild(style);\n }}\n"
    )


#: The class of every trainpad sketch pad (``make_sketchpad(..., elem_classes=PAD_CLASS)``).
PAD_CLASS = "tp-pad"
#: A pad keeps the tools that matter for drawing a digit: brush, eraser, undo and clear
#: (no colours, brush sizes, pan, zoom or redo).
PAD_CSS = """
.tp-pad button[aria-label="Pan"], .tp-pad button[aria-label="Zoom in"], .tp-pad button[aria-label="Zoom out"],
.tp-pad button[aria-label="Redo"], .tp-pad button[aria-label="Color"], .tp-pad button[aria-label="Brush Size"],
.tp-pad .zoom-number, .tp-pad .separator {display: none !important;}
.tp-pad .toolbar-wrap {left: 0 !important;}  /* beside the drawing area, not over its edge */
"""
#: Picks the Brush tool whenever a pad shows with no tool picked, so that drawing needs no
#: click first: Gradio's editor starts with no tool, and drops it again when the pad is
#: cleared (Clear, or the editor's own "Clear canvas").  A tool the user picked (the
#: eraser) is left alone.  Runs from a hidden gr.HTML's ``js_on_load``, once per page
#: however many tabs load it, and adds :data:`PAD_CSS`.
PAD_JS = """
if (!window.__tpBrush) {
  window.__tpBrush = true;
  const activate = () => {
    document.querySelectorAll('.tp-pad').forEach((pad) => {
      const brush = pad.querySelector('button[aria-label="Brush"]');
      if (!brush || !pad.querySelector('canvas') || pad.querySelector('button.highlight') || pad.dataset.tpBrush === 'picking') return;
      pad.dataset.tpBrush = 'picking';
      setTimeout(() => { pad.dataset.tpBrush = ''; brush.click(); }, 50);
    });
  };
  new MutationObserver(activate).observe(document.body, {childList: true, subtree: true});
  activate();
}
""" + style_js(PAD_CSS)


def make_sketchpad(blobs: SketchBlobs, **kwargs: Any) -> Any:
    """A ``gr.Sketchpad`` whose browser uploads go to ``blobs`` instead of Gradio's own store.

    Use it with ``preprocess=False`` on its events and :func:`read_sketch` in the handler.
    """
    import gradio as gr
    from gradio.components.base import server

    class BoundedSketchpad(gr.Sketchpad):
        """Gradio's sketch pad, keeping only what :class:`SketchBlobs` allows."""

        def get_block_name(self) -> str:
            return "imageeditor"  # the browser's component; this class only changes the server side

        def get_block_class(self) -> str:
            return "imageeditor"

        @server
        def accept_blobs(self, data: Any) -> None:
            fields = getattr(data, "data", None) or {}
            files = getattr(data, "files", None) or []
            content = files[0][1] if files and isinstance(files[0][1], (bytes, bytearray)) else b""
            blobs.put(fields.get("session_hash"), fields.get("id"), fields.get("type"), fields.get("index"), content)

    return BoundedSketchpad(**kwargs)


__all__ = ["SketchBlobs", "SketchUpload", "read_sketch", "make_sketchpad", "PAD_CLASS", "PAD_JS", "style_js"]
