"""Benchmark: what a stroke costs in the browser, on the Predict tab and on a published page.

Everything runs in one headless Chromium without a GPU (the page is drawn in software, as on
many school laptops), against three servers started here on 127.0.0.1: ``python app.py``; a
plain ``gr.Sketchpad`` (Gradio's WebGL sketch pad, which the Predict tab used before, with
nothing of trainpad around it, its brush picked); and the shipped model published with
``trainpad publish``, served by ``python -m http.server``.  Each comparison alternates its two
sides, the order flipping every round.

1. **A published page's answer**, against the Predict tab's: the same digits drawn on both;
   the page records the milliseconds from the mouse being lifted to its answer in
   ``#prediction`` (the model runs in the page, with ONNX Runtime Web); the Predict tab's are
   timed in the page too, from the mouse being lifted to the label changing (the drawing goes
   to the server and back).  Goals (the issue): under 50 ms (median), the folder under 15 MB.
2. **A move of the pointer**, on the Predict tab's pad against the plain ``gr.Sketchpad``: one
   slow stroke of 20 moves, each timed until the page has painted the frame after it (a page
   that takes a move in at once but draws it later pays too); a stroke's figure is its time
   over its moves.  It also adds up the page's long tasks (50 ms or more of work blocking it)
   during the stroke.  Goal (the issue): at most 100 ms a move; and (from 1.) the Predict
   tab's answer within 300 ms of lifting the mouse.

    python bench/drawing.py          # 5 rounds: 3 digits and a 20-move stroke each
    python bench/drawing.py --quick  # 1 round, no warm-up: 1 digit, a 6-move stroke
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

import _browser
import _common

GOAL_ANSWER_MS, GOAL_FOLDER_MB = 50.0, 15.0
GOAL_MOVE_MS, GOAL_SERVER_ANSWER_MS = 100.0, 300.0

#: A plain gr.Sketchpad, the size of the Predict tab's, and nothing else.
PLAIN_PAD = """
import sys, gradio as gr
with gr.Blocks() as demo:
    gr.Sketchpad(elem_id="pad", canvas_size=(800, 800), height=460)
demo.launch(server_name="127.0.0.1", server_port=int(sys.argv[1]))
"""
PAGE, TAB, PLAIN = "published page (in the browser)", "Predict tab (server round trip)", "plain gr.Sketchpad"
PAD = "Predict tab pad"


def main() -> int:
    p = _common.parser(__doc__.splitlines()[0])
    args = p.parse_args()
    rounds = _common.rounds(args, full=5, quick=1)
    digits = _browser.digit_shapes()[: 1 if args.quick else 3]
    moves = 6 if args.quick else 20
    scratch = Path(tempfile.mkdtemp(prefix="trainpad-bench-drawing-"))
    data = _common.data_dir(args, scratch, train=256, test=256)

    from trainpad.publish import publish
    from trainpad.testing import make_engine

    engine = make_engine()
    site, folder = publish(engine, engine.load_checkpoint(_common.ROOT / "plugins" / "pretrained" / "mnist-cnn.pt"), scratch / "site", data_dir=data)
    folder_mb = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6
    plain_port = _common.free_port()
    plain = _browser.process([sys.executable, "-c", PLAIN_PAD, str(plain_port)], f"http://127.0.0.1:{plain_port}/", scratch / "plain.log")
    with (
        _browser.static_site(folder, scratch / "http.log") as page_url,
        _browser.app(data, scratch / "app.log") as app_url,
        plain as plain_url,
        _browser.chromium() as browser,
    ):
        page = _browser.open_page(browser, page_url, "document.body.dataset.ready === '1'")
        tab = _browser.open_page(browser, app_url, _browser.APP_READY)
        tab.evaluate(_browser.APP_ANSWERS_JS)
        tab.evaluate(_browser.LONG_TASKS_JS)
        plain_page = _browser.open_page(browser, plain_url, "() => !!document.querySelector('#pad canvas')")
        plain_page.locator('#pad button[aria-label="Brush"]').click()
        plain_page.evaluate(_browser.LONG_TASKS_JS)

        def clear_tab() -> int:
            tab.get_by_role("button", name="Clear", exact=True).click()
            tab.wait_for_function("document.querySelector('#tp-label [data-testid=\"label-output-value\"]')?.textContent.trim() === 'Draw a digit'")
            return len(tab.evaluate("window.__tpAnswered"))

        def on_the_page() -> float:
            times = []
            for strokes in digits:  # each one stroke: one answer each
                page.locator("#clear").click()
                before = len(page.evaluate("window.__tpTimings"))
                _browser.draw(page, "#pad", strokes)
                times.append(_browser.wait_for(page, "window.__tpTimings", before + 1)[-1])
            return statistics.median(times)

        def on_the_server() -> float:
            times = []
            for strokes in digits:
                before = clear_tab()
                _browser.draw(tab, "#tp-sketch canvas", strokes)
                times.append(_browser.wait_for(tab, "window.__tpAnswered", before + 1)[-1])
            return statistics.median(times)

        answers = _common.alternate({PAGE: on_the_page, TAB: on_the_server}, rounds, warmup=not args.quick)

        long_tasks: dict[str, list[float]] = {PAD: [], PLAIN: []}

        def stroke(on: object, canvas: str, name: str) -> float:
            on.evaluate("window.__tpLongTasks = []")
            times = _browser.draw(on, canvas, [_browser.slow_stroke(moves)])
            on.wait_for_timeout(300)  # the stroke's own work after its last move
            long_tasks[name].append(sum(on.evaluate("window.__tpLongTasks")))
            _browser.settle(on)  # its work after the stroke must not fall on the other side's
            return statistics.fmean(times)  # the stroke's time over its moves: a few very slow moves count

        def our_pad() -> float:
            before = clear_tab()
            per_move = stroke(tab, "#tp-sketch canvas", PAD)
            _browser.wait_for(tab, "window.__tpAnswered", before + 1)
            return per_move

        per_move = _common.alternate({PAD: our_pad, PLAIN: lambda: stroke(plain_page, "#pad canvas", PLAIN)}, rounds, warmup=not args.quick)

    answer_ms, server_ms = statistics.median(answers[PAGE]), statistics.median(answers[TAB])
    first = _common.report(
        "ms from lifting the mouse to the answer on the page (median over a round's digits)",
        answers, unit="ms", ratio=(PAGE, TAB), higher_is_better=False,
        notes=[
            f"the published folder: {folder_mb:.1f} MB ({len(site.files)} files)",
            f"goals: the page answers in under {GOAL_ANSWER_MS:g} ms, its folder is under {GOAL_FOLDER_MB:g} MB: "
            + ("met" if answer_ms < GOAL_ANSWER_MS and folder_mb < GOAL_FOLDER_MB else "NOT met")
            + f"; the Predict tab answers within {GOAL_SERVER_ANSWER_MS:g} ms: " + ("met" if server_ms <= GOAL_SERVER_ANSWER_MS else "NOT met"),
        ],
    )
    move_ms = statistics.median(per_move[PAD])
    _common.report(
        f"ms a mouse move takes to be drawn, over a {moves}-move stroke (its time / {moves})",
        per_move, unit="ms", ratio=(PAD, PLAIN), higher_is_better=False, args=args,
        notes=[
            "long tasks during a stroke, ms in all (median): " + ", ".join(f"{n} {statistics.median(v):.0f}" for n, v in long_tasks.items()),
            f"goal: at most {GOAL_MOVE_MS:g} ms a move: {'met' if move_ms <= GOAL_MOVE_MS else 'NOT met'}",
        ],
        extra={"published_page": first, "folder_mb": folder_mb, "long_tasks_ms": long_tasks},
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
