"""What a person does in trainpad's page, as Playwright calls: open a tab, draw on the
sketch pad with the mouse, read the prediction, train, stop, evaluate.

Selectors are the ones a person would use (tab and button names, field labels) or the
app's own element ids (``#tp-sketch``, ``#tp-label``, ``#tp-loss-plot``...).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from support import holds, wait_until  # noqa: F401  (the browser tests take them from here, with the page helpers)

#: What the Predict tab's label says while nothing is drawn (plugins/predict_tab.py BLANK).
BLANK = "Draw a digit"
#: The drawing pad's canvas, in its own pixels (trainpad.web.sketch.CANVAS).
CANVAS = 800

#: Counts, in the page, the predictions that have finished: the Prediction label's status
#: tracker shows a timer while its event is pending (even with show_progress hidden) and
#: empties when the event completes.  Installed before the app's own scripts run.
PREDICTION_COUNTER_JS = """
(() => {
  window.__tpPredictions = 0;
  window.__tpPredicting = false;
  const check = () => {
    const tracker = document.querySelector('#tp-label [data-testid="status-tracker"]');
    const busy = !!tracker && tracker.textContent.trim() !== '';
    if (window.__tpPredicting && !busy) window.__tpPredictions += 1;
    window.__tpPredicting = busy;
  };
  const onLabel = new MutationObserver(check);
  let watched = null;
  const attach = () => {
    const label = document.getElementById('tp-label');
    if (!label || label === watched) return;
    watched = label;
    onLabel.disconnect();
    onLabel.observe(label, {childList: true, subtree: true, characterData: true});
    check();
  };
  const start = () => { new MutationObserver(attach).observe(document.body, {childList: true, subtree: true}); attach(); };
  if (document.body) start(); else document.addEventListener('DOMContentLoaded', start);
})();
"""


def open_tab(page: Any, name: str) -> None:
    tab = page.get_by_role("tab", name=name, exact=True)
    tab.click()
    page.wait_for_function("name => [...document.querySelectorAll('[role=tab]')].some(t => t.textContent.trim() === name && t.getAttribute('aria-selected') === 'true')", arg=name)


def settled(page: Any, timeout: float = 30) -> None:
    """Wait until the page has stopped changing size (the same for four looks 100 ms apart)
    and no Gradio progress shows: what a screenshot or a layout check should see."""
    looks: list[Any] = []

    def still() -> bool:
        looks.append(page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight,"
            " document.querySelectorAll('.pending, .generating').length]"
        ))
        return len(looks) >= 4 and looks[-1][2] == 0 and all(look == looks[-1] for look in looks[-4:])

    wait_until(still, timeout=timeout, interval=0.1, message="the page to settle")


# -- Predict -----------------------------------------------------------------------------------


class SketchPad:
    """The Predict tab's drawing pad (or another, by its element id), driven with the mouse
    like a person would.

    Coordinates are the canvas's own pixels (0..800), which fills the pad's square.
    """

    def __init__(self, page: Any, elem_id: str = "tp-sketch") -> None:
        self.page = page
        self.root = page.locator(f"#{elem_id}")
        self.canvas = self.root.locator("canvas").first
        self.label = page.locator("#tp-label [data-testid='label-output-value']")

    # geometry

    def area(self) -> dict[str, float]:
        """The drawing area on the screen: ``{"x", "y", "size"}`` in CSS pixels."""
        self.canvas.wait_for(state="visible")
        box = self.canvas.bounding_box()
        assert box, "the drawing pad has no canvas on screen"
        return {"x": box["x"], "y": box["y"], "size": box["width"]}

    def to_screen(self, point: tuple[float, float], area: dict[str, float]) -> tuple[float, float]:
        scale = area["size"] / CANVAS
        return area["x"] + point[0] * scale, area["y"] + point[1] * scale

    # drawing

    def stroke(self, points: Sequence[tuple[float, float]], area: dict[str, float] | None = None) -> None:
        """Press, move through ``points`` (canvas pixels), release.

        The pad draws a straight line between two pointer positions, so each point is
        one move.
        """
        area = area or self.area()
        mouse = self.page.mouse
        mouse.move(*self.to_screen(points[0], area))
        mouse.down()
        for point in points[1:]:
            mouse.move(*self.to_screen(point, area))
        mouse.up()

    def finished(self) -> int:
        return int(self.page.evaluate("window.__tpPredictions || 0"))

    def idle(self) -> bool:
        return not self.page.evaluate("window.__tpPredicting")

    def seen(self) -> str | None:
        """The address of the "What the model sees" picture (None when there is none)."""
        return self.page.evaluate(
            """() => {
              const block = [...document.querySelectorAll('.block')].find(b => b.querySelector('label')?.textContent.includes('What the model sees'));
              return block?.querySelector('img')?.getAttribute('src') || null;
            }"""
        )

    def draw(self, strokes: Sequence[Sequence[tuple[float, float]]], *, replacing: str | None = None, timeout: float = 90) -> str:
        """Draw ``strokes`` one after the other, each once the page has answered the one
        before (each stroke sends the drawing so far), and return the final prediction.

        A stroke is answered when a prediction has finished since it was drawn and the
        picture the model saw is a new one (the label and picture show a moment after
        the event ends).  ``replacing``: the picture of an earlier drawing that a
        Clear pressed just before is still wiping (its own prediction may not be done).
        """
        area = self.area()
        for n, points in enumerate(strokes):
            done, before = self.finished(), self.seen()
            if n == 0 and replacing is not None:
                before = replacing
            self.stroke(points, area)
            wait_until(lambda: self.finished() > done and self.idle(), timeout=timeout, message="the prediction of a stroke")
            try:
                wait_until(lambda: self.seen() not in (before, None) and self.idle(), timeout=20, message="the picture the model saw")
            except AssertionError:
                pass  # no new picture: the label says why ("Draw a digit"...)
        return self.prediction()

    def prediction(self) -> str:
        return self.label.inner_text(timeout=10_000).strip()

    def press_clear(self) -> None:
        """Press the Clear button (not waiting for the prediction of the empty pad)."""
        self.page.get_by_role("button", name="Clear", exact=True).click()
        self.page.wait_for_function("() => document.querySelector('#tp-sketch canvas')?.tpPad?.isEmpty()", timeout=30_000)

    def clear(self, *, timeout: float = 60) -> str:
        """Press the Clear button; returns what the label says once the page has answered."""
        self.press_clear()
        return wait_until(
            lambda: (text := self.prediction()) == BLANK and self.idle() and text,
            timeout=timeout,
            message=f"the label to say {BLANK!r} after Clear",
        )


def vertical_one() -> list[list[tuple[float, float]]]:
    """A "1": one vertical stroke down the middle of the pad."""
    return [[(400.0, 160.0), (400.0, 400.0), (400.0, 640.0)]]


def round_zero() -> list[list[tuple[float, float]]]:
    """A "0": one closed loop, an upright oval (a 14-sided polygon, as the pad joins the
    pointer's positions with straight lines), drawn anticlockwise from the top and a
    little past where it started."""
    points = []
    for k in range(15):
        angle = -math.pi / 2 - 2 * math.pi * k / 14 * 1.04
        points.append((400 + 170 * math.cos(angle), 400 + 240 * math.sin(angle)))
    return [points]


# -- Train -------------------------------------------------------------------------------------


def status_text(page: Any) -> str:
    """The Train tab's status line (without the progress display laid over it while busy)."""
    return page.locator(".block.tp-status [data-testid='markdown']").first.inner_text().strip()


def current_model_text(page: Any) -> str:
    """The visible "Current model: ..." (or "Model: ...") lines of the open tab."""
    return page.evaluate(
        """() => [...document.querySelectorAll('strong')]
            .filter(s => /^(Current model|Model):$/.test(s.textContent.trim()) && s.offsetParent !== null)
            .map(s => (s.closest('p') || s.parentElement).innerText.trim()).join(' | ')"""
    )


def shown_model(page: Any, timeout: float = 30, *, containing: str = "") -> str:
    """The open tab's model line, once the tab has filled it in (tabs do on opening), and
    once it says ``containing`` (a line shown before the tab was opened again may be stale)."""
    return wait_until(
        lambda: containing in (text := current_model_text(page)) and text,
        timeout=timeout,
        message=f"the tab's model line{' to say ' + repr(containing) if containing else ''} (it says {current_model_text(page)!r})",
    )


#: Points drawn on a Vega line plot: the vertices of its lines' paths (M and L commands).
PLOT_POINTS_JS = """id => [...document.querySelectorAll(`#${id} .mark-line path`)]
    .map(p => ((p.getAttribute('d') || '').match(/[ML]/g) || []).length).reduce((a, b) => a + b, 0)"""


def plot_points(page: Any, elem_id: str) -> int:
    """How many data points the live plot ``#elem_id`` shows on its lines."""
    return int(page.evaluate(PLOT_POINTS_JS, elem_id))


def log_text(page: Any) -> str:
    """The Train tab's log (its label also holds a copy button, so it is found by its caption)."""
    return page.locator("label").filter(has=page.locator("[data-testid='block-info']", has_text=re.compile(r"^\s*Log\s*$"))).locator("textarea").input_value()


def set_number(page: Any, label: str, value: int) -> None:
    field = page.get_by_label(label, exact=True)
    field.fill(str(value))
    field.press("Tab")


#: Records, every 100 ms, the Train tab's status, its progress strip and the plots'
#: point counts into window.__tpTrace (a person watching the page).
TRAIN_WATCH_JS = """
() => {
  window.__tpTrace = [];
  const t0 = performance.now();
  const count = %s;
  window.__tpWatch = setInterval(() => {
    const block = document.querySelector('.block.tp-status');
    const status = block?.querySelector('[data-testid="markdown"]');
    // Gradio's progress (queue place, timer, progress bar) shows on the strip above the status
    const tracker = document.querySelector('.block.tp-progress [data-testid="status-tracker"]');
    window.__tpTrace.push({
      t: Math.round(performance.now() - t0),
      status: status ? status.innerText.trim() : '',
      progress: tracker ? tracker.innerText.trim() : '',
      loss: count('tp-loss-plot'),
      accuracy: count('tp-accuracy-plot'),
    });
  }, 100);
}
""" % PLOT_POINTS_JS


def watch_training(page: Any) -> None:
    page.evaluate(TRAIN_WATCH_JS)


def training_trace(page: Any) -> list[dict[str, Any]]:
    page.evaluate("clearInterval(window.__tpWatch)")
    return page.evaluate("window.__tpTrace")


# -- plots, tables and layout, read from the page ------------------------------------------------

#: Per line of a Vega plot: its colour and its number of vertices; and the legend's labels.
PLOT_LINES_JS = """id => ({
  lines: [...document.querySelectorAll(`#${id} .mark-line path`)].map(p => ({
    stroke: p.getAttribute('stroke'), points: ((p.getAttribute('d') || '').match(/[ML]/g) || []).length})),
  legend: [...document.querySelectorAll(`#${id} .role-legend-label text`)].map(t => t.textContent),
})"""


def plot_lines(page: Any, elem_id: str) -> dict[str, Any]:
    """``{"lines": [{"stroke", "points"}...], "legend": [label...]}`` of the plot ``#elem_id``."""
    return page.evaluate(PLOT_LINES_JS, elem_id)


def line_points(page: Any, elem_id: str, colour: str) -> int:
    """Vertices of the plot's lines drawn in ``colour`` (``#2563eb``: a run's test curve)."""
    return sum(line["points"] for line in plot_lines(page, elem_id)["lines"] if (line["stroke"] or "").lower() == colour.lower())


#: The tick labels of a Vega plot's axes with their boxes, and the box of the plot's block.
AXIS_LABELS_JS = """id => {
  const block = document.getElementById(id);
  const box = block.getBoundingClientRect();
  return {
    block: {left: box.left, right: box.right, top: box.top, bottom: box.bottom},
    labels: [...block.querySelectorAll('.role-axis-label text')].map(t => {
      const r = t.getBoundingClientRect();
      return {text: t.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width};
    }),
  };
}"""


def axis_labels(page: Any, elem_id: str) -> dict[str, Any]:
    return page.evaluate(AXIS_LABELS_JS, elem_id)


def runs_table(page: Any) -> list[list[str]]:
    """The runs table's rows (header first), as shown."""
    return page.evaluate(
        """() => {
          const table = document.getElementById('tp-runs-table');
          const header = [...table.querySelectorAll('thead th')].map(th => th.textContent.replace('⋮', '').trim());
          const rows = [...table.querySelectorAll('.virtual-row')]
            .map(row => [...row.querySelectorAll('.body-cell')].map(cell => cell.textContent.trim()));
          return [header, ...rows];
        }"""
    )


def use_shown_run(page: Any, timeout: float = 60) -> str:
    """Press "Use this run"; returns the model line once it names a run trained here."""
    page.get_by_role("button", name="Use this run").click()
    return wait_until(lambda: "trained here" in (text := current_model_text(page)) and text, timeout=timeout, message="the run in use")


def toasts(page: Any) -> list[str]:
    """The texts of the pop-up messages shown now."""
    return page.evaluate("() => [...document.querySelectorAll('.toast-body')].map(t => t.innerText.replace(/\\s+/g, ' ').trim())")


def wait_for_status(page: Any, pattern: str, *, timeout: float, message: str = "") -> str:
    """The Train tab's status once it matches the regular expression ``pattern``."""
    return wait_until(
        lambda: (text := status_text(page)) and re.search(pattern, text) and text,
        timeout=timeout,
        message=message or (lambda: f"the status to match {pattern!r} (it says {status_text(page)!r}; pop-ups: {toasts(page)!r})"),
    )


#: Visible elements reaching past the right edge of the screen, leaving out those inside a
#: box that scrolls sideways (a wide table's) and those the page clips away.
OVERFLOW_JS = """width => {
  const scrolls = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const st = getComputedStyle(p);
      if (/(auto|scroll|hidden|clip)/.test(st.overflowX) && p.getBoundingClientRect().right <= width + 1) return true;
    }
    return false;
  };
  return [...document.querySelectorAll('body *')].filter(el => {
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height || el.closest('[hidden], .hidden, .tp-hidden')) return false;
    const st = getComputedStyle(el);
    if (st.visibility === 'hidden' || st.display === 'none' || st.position === 'fixed') return false;
    return (r.right > width + 1 || r.left < -1) && !scrolls(el);
  }).map(el => `${el.tagName.toLowerCase()}.${String(el.className).slice(0, 40)} [${Math.round(r(el).left)}, ${Math.round(r(el).right)}]`);
  function r(el) { return el.getBoundingClientRect(); }
}"""


def overflowing(page: Any, width: int) -> list[str]:
    """Elements wider than the screen that do not sit in a box of their own that scrolls."""
    return page.evaluate(OVERFLOW_JS, width)


# -- choosing components ---------------------------------------------------------------------


def choose(page: Any, label: str, option: str) -> None:
    """Pick ``option`` in the dropdown labelled ``label``, as a person does: open it, click the option."""
    page.get_by_role("combobox", name=label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()


def chosen(page: Any, label: str) -> str:
    """What the dropdown labelled ``label`` shows."""
    return page.get_by_role("combobox", name=label, exact=True).input_value()


def open_accordion(page: Any, title: str) -> None:
    """Open the accordion ``title`` (a click on its header) unless it is open."""
    header = page.locator("button.label-wrap", has_text=title).first
    if "open" not in (header.get_attribute("class") or ""):
        header.click()


#: The headings of the component groups shown in the Train tab's Hyperparameters accordion.
HYPERPARAMETER_GROUPS_JS = r"""() => [...document.querySelectorAll('strong')]
    .filter(s => s.offsetParent !== null && /^(Dataset|Model|Optimizer|Loss) [a-z0-9._-]+$/.test(s.textContent.trim()))
    .map(s => s.textContent.trim())"""


def hyperparameter_groups(page: Any) -> list[str]:
    """The visible groups of hyperparameter fields, as ``"Kind name"`` in page order."""
    return page.evaluate(HYPERPARAMETER_GROUPS_JS)


# -- a published page ------------------------------------------------------------------------------


class PublishedPad:
    """A published page's pad (``#pad``, 800x800 pixels of its own), driven with the mouse.

    The page answers in the browser: each finished stroke adds one entry to
    ``window.__tpTimings`` (ms from the stroke's end to its answer on the page).
    """

    def __init__(self, page: Any) -> None:
        self.page = page
        self.canvas = page.locator("#pad")

    def answers(self) -> int:
        return int(self.page.evaluate("window.__tpTimings.length"))

    def draw(self, strokes: Sequence[Sequence[tuple[float, float]]], *, timeout: float = 30) -> str:
        """Draw ``strokes`` (pad pixels) and return ``#prediction`` once the last is answered."""
        box = self.canvas.bounding_box()
        scale = box["width"] / CANVAS
        mouse = self.page.mouse
        before = self.answers()
        for points in strokes:
            mouse.move(box["x"] + points[0][0] * scale, box["y"] + points[0][1] * scale)
            mouse.down()
            for x, y in points[1:]:
                mouse.move(box["x"] + x * scale, box["y"] + y * scale)
            mouse.up()
        wait_until(lambda: self.answers() > before, timeout=timeout, message="the page's answer to the strokes")
        return self.prediction()

    def prediction(self) -> str:
        return self.page.locator("#prediction").inner_text().strip()

    def top(self) -> str:
        """The class the page reads: the first word of ``#prediction``."""
        return self.prediction().split()[0]

    def clear(self) -> None:
        self.page.locator("#clear").click()
        self.page.wait_for_function("document.getElementById('prediction').classList.contains('blank')", timeout=30_000)
