"""The Train tab read as a learner reads it, in Chromium: curves that tell the truth, the
runs table, the model in use, and every wait saying what it waits for.

One app process serves the module (see conftest.py); each test opens its own browser
context, a new user with a new session.
"""

from __future__ import annotations

import re

import pytest

from app_pages import (
    axis_labels,
    current_model_text,
    holds,
    line_points,
    log_text,
    open_tab,
    plot_points,
    plot_lines,
    runs_table,
    set_number,
    settled,
    status_text,
    toasts,
    use_shown_run,
    wait_for_status,
    wait_until,
)

pytestmark = pytest.mark.browser

#: A run's test curve colour (trainpad.web.plots.COLOURS).
TEST_BLUE = "#2563eb"
#: Seconds a run may take to train on two busy cores.
RUN_TIMEOUT = 240
#: Training samples of a one-epoch run long enough for spot checks within a tenth of its time.
EPOCH_SAMPLES = 30_000


def start(page, *, samples: int, epochs: int = 1, optimizer: str | None = None) -> None:
    """On the Train tab, set the samples and epochs (and optimizer), and press Start."""
    open_tab(page, "Train")
    if optimizer is not None:
        page.get_by_label("Optimizer", exact=True).click()
        page.get_by_role("option", name=optimizer, exact=True).click()
    set_number(page, "Training samples", samples)
    set_number(page, "Epochs", epochs)
    before = status_text(page)
    page.get_by_role("button", name="Start training").click()
    # until this run shows (a previous run's "Done" stays until it does)
    wait_until(lambda: status_text(page) != before, timeout=60, message="the run to begin")


def finished(page, timeout: float = RUN_TIMEOUT) -> str:
    return wait_for_status(page, r"^(Done|Stopped|Diverged)", timeout=timeout, message="the run to end")


def test_a_one_epoch_run_draws_a_real_test_curve_on_axes_whose_labels_fit(open_page, screenshot):
    page = open_page().page
    start(page, samples=EPOCH_SAMPLES)
    done = finished(page)
    assert done.startswith("Done. Run 1 reached 1 epoch"), done
    settled(page)
    screenshot(page, "done")
    # tested before training, during the epoch and at its end: more than two test points
    for plot in ("tp-loss-plot", "tp-accuracy-plot"):
        assert line_points(page, plot, TEST_BLUE) > 2, plot_lines(page, plot)
    log = log_text(page)
    assert re.search(r"at epoch 0\.\d\d \(step \d+\): test loss", log), log
    # every tick label is whole: inside its plot, and a number as formatted
    for plot, top in (("tp-loss-plot", None), ("tp-accuracy-plot", "100")):
        found = axis_labels(page, plot)
        block, labels = found["block"], found["labels"]
        assert len(labels) >= 6, found
        for label in labels:
            assert re.fullmatch(r"\d+(\.\d+)?", label["text"]), label
            assert label["left"] >= block["left"] - 0.5 and label["right"] <= block["right"] + 0.5, (plot, label, block)
            assert label["width"] > 4, label
        if top:
            assert top in [label["text"] for label in labels], labels
    # the runs table has it, with what it reached
    rows = runs_table(page)
    header, newest = rows[0], rows[1]
    assert header[:2] == ["run", "in use"] and newest[0] == "run 1" and newest[header.index("epochs")] == "1"
    assert newest[header.index("test accuracy")].endswith("%") and rows[-1][0] == "shipped"


def test_a_stopped_run_counts_the_epoch_it_trained(open_page, screenshot):
    page = open_page().page
    start(page, samples=0, epochs=1)
    wait_for_status(page, r"step ([3-9]\d|[\d,]{3,}) of", timeout=RUN_TIMEOUT)  # a little way into its epoch
    page.get_by_role("button", name="Stop", exact=True).click()
    stopped = wait_for_status(page, r"^Stopped", timeout=RUN_TIMEOUT)
    screenshot(page, "stopped")
    part = re.search(r"kept as run 1 \((0\.\d\d) of an epoch", stopped)
    assert part, stopped
    rows = runs_table(page)
    assert rows[1][rows[0].index("epochs")] == f"{part.group(1)} of 1", rows
    assert rows[1][rows[0].index("status")] == "stopped"
    model = use_shown_run(page)
    assert f"{part.group(1)} of an epoch" in model and "run 1, trained here" in model, model


def test_runs_are_compared_and_the_user_picks_the_model_in_use(open_page, screenshot):
    page = open_page().page
    start(page, samples=3000)
    first = finished(page)
    start(page, samples=3000, optimizer="adamw")
    second = finished(page)
    # neither beats the shipped model: it stays in use, and the status says so
    for status in (first, second):
        assert "below the 99.39% of the model in use (shipped), which stays in use" in status, status
    assert "(shipped)" in current_model_text(page)
    rows = runs_table(page)
    header = rows[0]
    assert [row[0] for row in rows[1:]] == ["run 2", "run 1", "shipped"]
    assert [row[header.index("optimizer")] for row in rows[1:]] == ["adamw", "sgd", "sgd"]
    assert [row[header.index("in use")] for row in rows[1:]] == ["", "", "●"]
    # overlay run 1 on run 2: both runs' curves, each in its own colours
    page.locator("#tp-compare").get_by_text(re.compile(r"^run 1")).click()
    wait_until(lambda: "run 1" in plot_lines(page, "tp-loss-plot")["legend"], timeout=30, message="the overlaid runs' legend")
    lines = plot_lines(page, "tp-loss-plot")
    assert lines["legend"] == ["run 2", "run 1"], lines
    strokes = [line["stroke"] for line in lines["lines"]]
    assert len(strokes) == 4 and None not in strokes and len(set(strokes)) == 4, lines
    screenshot(page, "overlay")
    # pick run 1 and use it; then the shipped model is one click away
    page.get_by_label("Run shown", exact=True).click()
    page.get_by_role("option", name=re.compile(r"^run 1")).click()
    wait_until(lambda: "with sgd" in log_text(page) and page.get_by_role("button", name="Use this run").is_enabled(), timeout=30, message="run 1 shown")
    assert "run 1, trained here" in use_shown_run(page)
    wait_until(lambda: [row[1] for row in runs_table(page)[1:]] == ["", "●", ""], timeout=30, message="run 1 marked in use")
    screenshot(page, "run-1-in-use")
    page.get_by_role("button", name="Use the shipped model").click()
    wait_until(lambda: "(shipped)" in current_model_text(page), timeout=30, message="the shipped model back")
    open_tab(page, "Predict")
    assert "(shipped)" in current_model_text(page)


def test_start_during_a_run_says_one_is_going_and_queues_nothing(open_page, screenshot):
    page = open_page().page
    start(page, samples=0, epochs=20)
    wait_for_status(page, r"step [\d,]+ of", timeout=RUN_TIMEOUT)
    page.get_by_role("button", name="Start training").click()
    said = wait_until(lambda: [t for t in toasts(page) if "already going" in t], timeout=30, message="the already-going message")
    assert "A run is already going in this session" in said[0], said
    screenshot(page, "already-going")
    page.get_by_role("button", name="Stop", exact=True).click()
    wait_for_status(page, r"^Stopped", timeout=RUN_TIMEOUT)
    # a second run, had one been queued, would begin within these seconds
    holds(lambda: [row[0] for row in runs_table(page)[1:]] == ["run 1", "shipped"] and status_text(page).startswith("Stopped"), 2.5,
          lambda: f"no second run: {runs_table(page)[1:]}, {status_text(page)!r}")


def test_start_right_after_stop_trains_the_next_run(open_page, screenshot, app_server):
    page = open_page().page
    start(page, samples=0, epochs=20)
    wait_for_status(page, r"step [\d,]+ of", timeout=RUN_TIMEOUT)
    set_number(page, "Training samples", 640)
    set_number(page, "Epochs", 1)
    page.get_by_role("button", name="Stop", exact=True).click()
    # half a second later, as a person clicks (in the same instant, Gradio's page would cancel
    # the new run's request with the Stop's); the first run is still wrapping up
    page.wait_for_timeout(500)
    page.get_by_role("button", name="Start training").click()
    try:
        done = wait_for_status(page, r"^Done", timeout=RUN_TIMEOUT)
    except AssertionError as exc:  # what the server said meanwhile, for whoever reads a failure in CI
        raise AssertionError(f"{exc}\nthe app's log:\n{app_server.log_tail(60)}") from None
    assert done.startswith("Done. Run 2 reached 1 epoch"), done
    assert not [t for t in toasts(page) if "already going" in t]
    assert [row[0] for row in runs_table(page)[1:]] == ["run 2", "run 1", "shipped"]
    assert [row[-1] for row in runs_table(page)[1:3]] == ["done", "stopped"]
    screenshot(page, "restarted")


def test_a_run_waiting_for_another_users_says_why_and_where_it_is_in_line(open_page, screenshot):
    alice, bob = open_page().page, open_page().page
    start(alice, samples=0, epochs=20)
    wait_for_status(alice, r"step [\d,]+ of", timeout=RUN_TIMEOUT)
    start(bob, samples=640)
    waiting = wait_for_status(bob, r"^Waiting in line", timeout=60)
    assert "Another user is training" in waiting and "one run at a time" in waiting, waiting
    place = wait_until(lambda: (text := bob.locator(".block.tp-progress").inner_text()) and "queue" in text and text, timeout=30, message="the place in the queue")
    assert re.search(r"queue: \d+/\d+", place), place
    screenshot(bob, "waiting")
    alice.get_by_role("button", name="Stop", exact=True).click()
    wait_for_status(alice, r"^Stopped", timeout=RUN_TIMEOUT)
    assert finished(bob).startswith("Done"), status_text(bob)


def test_fields_check_their_range_as_the_user_types(open_page, screenshot):
    page = open_page().page
    open_tab(page, "Train")
    epochs = page.get_by_label("Epochs", exact=True)
    block = page.locator(".block", has=epochs).last
    epochs.fill("99")  # typed, not yet sent anywhere
    note = block.locator(".tp-field-note")
    note.wait_for(state="visible", timeout=10_000)
    assert note.inner_text() == "Enter a whole number from 1 to 20."
    assert "tp-field-invalid" in (block.get_attribute("class") or "") and epochs.get_attribute("aria-invalid") == "true"
    screenshot(page, "epochs-99")
    epochs.fill("2.5")
    assert note.inner_text() == "Enter a whole number from 1 to 20."
    epochs.fill("3")
    wait_until(lambda: block.locator(".tp-field-note").count() == 0, timeout=10, message="the note to go")
    assert "tp-field-invalid" not in (block.get_attribute("class") or "")
    samples = page.get_by_label("Training samples", exact=True)
    samples.fill("640")  # not a multiple of its arrows' step of 1,000, and fine (checked as it is typed, at once)
    assert page.locator(".block", has=samples).last.locator(".tp-field-note").count() == 0


def test_the_first_visit_opens_on_drawing_with_only_the_tools_that_matter(visitor, screenshot):
    page = visitor.page
    selected = page.locator("[role=tab][aria-selected=true]").first.inner_text().strip()
    assert selected == "Predict", selected
    intro = page.locator(".block.tp-header").inner_text()
    assert "Draw a digit" in intro and "plugin" not in intro.lower(), intro
    page.locator("#tp-sketch canvas").wait_for(state="visible", timeout=60_000)
    # the pad draws at once (no tool to pick first) and keeps to what drawing a digit needs
    assert page.evaluate("() => !!document.querySelector('#tp-sketch canvas').tpPad")
    shown = [b.strip() for b in page.locator(".tp-predict button:visible").all_inner_texts()]
    assert {"Undo", "Clear", "Random test image"} <= set(shown), shown
    screenshot(page, "first-visit")


def test_a_start_refused_for_its_fields_keeps_the_last_run_and_names_every_field(open_page, screenshot):
    """Before (issue 22): a Start refused for invalid fields erased the previous run's curves
    and log and left "Preparing the run…" under an "Error" pill; of five invalid fields, one
    was named."""
    page = open_page().page
    start(page, samples=640)
    done = wait_for_status(page, r"^Done", timeout=RUN_TIMEOUT)
    points, log = plot_points(page, "tp-loss-plot"), log_text(page)
    assert points > 0 and log
    set_number(page, "Epochs", 99)
    set_number(page, "Batch size", 0)
    page.get_by_role("button", name="Start training").click()
    said = wait_until(lambda: [t for t in toasts(page) if "Epochs" in t or "epochs" in t], timeout=30, message="the refusal")
    screenshot(page, "refused")
    assert re.search(r"(?i)batch.size", said[0]), said  # every invalid field named, not the first alone
    # what a refused Start would have changed would change within this second
    holds(lambda: status_text(page) == done and plot_points(page, "tp-loss-plot") == points and log_text(page) == log, 1.0,
          lambda: f"the previous run's view kept: {status_text(page)!r}")


def test_the_log_follows_its_newest_line(open_page, screenshot):
    """Before (issue 22): the Log stayed on its first lines while the run wrote more."""
    page = open_page().page
    start(page, samples=640)
    wait_for_status(page, r"^Done", timeout=RUN_TIMEOUT)
    log = page.locator("label").filter(has=page.locator("[data-testid='block-info']", has_text=re.compile(r"^\s*Log\s*$"))).locator("textarea")
    wait_until(
        lambda: log.evaluate("t => t.scrollHeight > t.clientHeight && t.scrollTop + t.clientHeight >= t.scrollHeight - 2"),
        timeout=10, message="the Log scrolled to its last line",
    )
    assert "checkpoint ready" in log.evaluate("t => t.value.split('\\n').slice(-3).join('\\n')")
