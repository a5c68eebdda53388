"""Inside the loop and inside the model, in a real browser: the run downloaded as a plain
PyTorch script, the Predict tab's look inside the model, the Evaluate tab's test samples,
the loop view and Step, the shareable link, and the page in Korean.

One app process serves the module (see conftest.py); each test is a new user.
"""

from __future__ import annotations

import ast
import re

import pytest

from app_pages import open_tab

pytestmark = pytest.mark.browser


# -- Download as a script ---------------------------------------------------------------------


def test_download_as_a_script_gives_the_forms_run_as_plain_pytorch(open_page, screenshot, tmp_path):
    page = open_page().page
    open_tab(page, "Train")
    page.get_by_text("Hyperparameters", exact=True).click()
    lr = page.get_by_label("lr", exact=True).first
    lr.fill("0.07")
    lr.press("Tab")
    seed = page.get_by_label("Seed", exact=True)
    seed.fill("5")
    seed.press("Tab")
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Download as a script").click()
    assert download.value.suggested_filename == "train_mnist_cnn_on_mnist.py"
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    source = path.read_text()
    ast.parse(source)
    assert "return sgd(parameters, lr=0.07, momentum=0.9, weight_decay=0.0005, nesterov=True)" in source
    assert re.search(r"^SEED = 5\b", source, re.M)
    assert not re.search(r"^\s*(import|from) trainpad", source, re.M)
    page.get_by_text("trains this run with torch and torchvision alone").wait_for(state="visible")
    screenshot(page, "script-ready")


# -- Inside the model on Predict ---------------------------------------------------------------


def inside_figures(page) -> dict[str, int]:
    """How many figures of each kind the "Inside the model" box shows, with a picture loaded."""
    return page.evaluate(
        """() => {
          const found = {};
          document.querySelectorAll('#tp-inside figure[data-tp]').forEach(f => {
            const img = f.querySelector('img');
            const shown = f.dataset.tp === 'units' ? f.querySelectorAll('.tp-units span').length > 0 : !!img && img.naturalWidth > 0;
            if (shown) found[f.dataset.tp] = (found[f.dataset.tp] || 0) + 1;
          });
          return found;
        }"""
    )


def test_drawing_shows_every_class_the_saliency_and_the_feature_maps(open_page, screenshot):
    from app_pages import SketchPad, vertical_one, wait_until

    page = open_page().page
    open_tab(page, "Predict")
    pad = SketchPad(page)
    assert "saliency map and each layer" in page.locator("#tp-inside").inner_text()
    assert pad.draw(vertical_one()) == "1"
    found = wait_until(lambda: (f := inside_figures(page)).get("maps") == 3 and f, timeout=30, message="the feature maps")
    assert found == {"saliency": 1, "maps": 3}, found
    text = page.locator("#tp-inside").inner_text()
    assert "convs.0 · Conv2d 1→16, 3×3 · 16 feature maps of 28×28" in text and "score for “1”" in text
    classes = page.evaluate("() => document.querySelectorAll('#tp-label .confidence-set').length")
    assert classes == 10, f"the prediction lists {classes} classes, not all 10"
    screenshot(page, "inside")
    assert pad.clear() == "Draw a digit"
    wait_until(lambda: not inside_figures(page), timeout=30, message="the insides to go with the drawing")


# -- Test samples on Evaluate -------------------------------------------------------------------


def test_evaluate_shows_random_test_images_beside_the_mistakes(open_page, screenshot):
    from app_pages import set_number

    page = open_page().page
    open_tab(page, "Evaluate")
    set_number(page, "Test images", 1000)
    page.get_by_role("button", name="Evaluate", exact=True).click()
    page.locator("#tp-samples img").nth(23).wait_for(state="visible", timeout=120_000)
    texts = [t.strip() for t in page.locator("#tp-samples").inner_text().splitlines() if t.strip()[:1] in "✓✗"]
    assert len(texts) == 24, texts
    assert all(re.fullmatch(r"✓ \S+ \(\d+%\)|✗ \S+ \(\d+%\), truly \S+", t) for t in texts), texts
    assert page.locator("#tp-mistakes img").count() > 0  # beside the most confident mistakes
    box, other = page.locator("#tp-samples").bounding_box(), page.locator("#tp-mistakes").bounding_box()
    assert abs(box["y"] - other["y"]) < 5 and box["x"] + box["width"] <= other["x"] + 1, "the two grids are not side by side"
    screenshot(page, "samples")


def test_a_model_without_convolutions_shows_its_layer_as_bars(open_page, screenshot):
    """The test plugin's ``linear`` model (softmax regression), trained here, then drawn for."""
    from app_pages import SketchPad, choose, current_model_text, set_number, shown_model, status_text, use_shown_run, vertical_one, wait_until

    page = open_page().page
    open_tab(page, "Train")
    choose(page, "Model", "linear")
    set_number(page, "Training samples", 1280)
    page.get_by_role("button", name="Start training").click()
    done = wait_until(lambda: (text := status_text(page)).startswith(("Done", "Stopped", "Error")) and text, timeout=180, message="the run to end")
    assert done.startswith("Done"), done
    if "trained here" not in current_model_text(page):  # it did worse than the shipped model: pick it
        use_shown_run(page)
    open_tab(page, "Predict")
    shown_model(page, containing="linear on")
    pad = SketchPad(page)
    pad.draw(vertical_one())
    found = wait_until(lambda: (f := inside_figures(page)).get("units") and f, timeout=30, message="the layer's bars")
    assert found == {"saliency": 1, "units": 1}, found
    assert "Linear 784→10 · 10 units" in page.locator("#tp-inside").inner_text()
    assert page.locator("#tp-inside .tp-units span").count() == 10
    screenshot(page, "linear")


# -- The shareable link ------------------------------------------------------------------------


def test_the_train_tabs_choices_live_in_the_address_and_a_link_restores_them(browser, app_url, screenshot):
    from urllib.parse import parse_qsl, urlsplit

    from app_pages import choose, chosen, open_accordion, set_number, wait_until

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    context.set_default_timeout(60_000)
    try:
        page = context.new_page()
        page.goto(app_url)
        # the address as the page has it (Playwright's page.url follows it only while a call of its own runs)
        address = lambda: page.evaluate("location.href")  # noqa: E731
        query = lambda: dict(parse_qsl(urlsplit(address()).query))  # noqa: E731
        open_tab(page, "Train")
        choose(page, "Optimizer", "adamw")
        # as a person does, type once the page has shown the choice (the address holds it)
        wait_until(lambda: query().get("optimizer") == "adamw", timeout=60, message="the address to hold the optimizer")
        open_accordion(page, "Hyperparameters")
        lr = wait_until(lambda: next((f for f in page.get_by_label("lr", exact=True).all() if f.is_visible()), None),
                        timeout=30, message="adamw's lr field")  # fmt: skip
        lr.fill("0.004")
        lr.press("Tab")
        set_number(page, "Epochs", 2)
        set_number(page, "Seed", 11)
        wanted = {"optimizer": "adamw", "optimizer.lr": "0.004", "epochs": "2", "seed": "11"}
        wait_until(lambda: all(query().get(k) == v for k, v in wanted.items()), timeout=90, message=f"the address to hold {wanted}")
        page.get_by_role("button", name="Copy a link to these settings").click()
        copied = wait_until(lambda: page.evaluate("navigator.clipboard.readText()"), timeout=10, message="the copied link")
        assert copied == address()
        page.get_by_text("whoever opens it gets this form").wait_for(state="visible")
        screenshot(page, "link-copied")

        other = context.new_page()  # someone else opens the link
        other.goto(copied)
        open_tab(other, "Train")
        wait_until(lambda: chosen(other, "Optimizer") == "adamw", timeout=30, message="the link's optimizer")
        assert other.get_by_label("Epochs", exact=True).input_value() == "2"
        assert other.get_by_label("Seed", exact=True).input_value() == "11"
        open_accordion(other, "Hyperparameters")
        visible_lr = lambda: [f.input_value() for f in other.get_by_label("lr", exact=True).all() if f.is_visible()]  # noqa: E731
        # the optimizer's fields show once the page has applied the link's choices
        assert wait_until(lambda: visible_lr() == ["0.004"], timeout=30, message="adamw's lr from the link"), visible_lr()
        screenshot(other, "link-opened")
    finally:
        context.close()


def test_a_change_of_the_form_costs_one_request_and_then_the_page_is_quiet(open_page):
    """One handler follows the form (the loop view, the preset's note and the address):
    each edit is one request, and none follow once the page has shown it (three handlers on
    the same changes once raced in Gradio's page until the fields' changes fired without end)."""
    import json
    from urllib.parse import parse_qsl, urlsplit

    from app_pages import holds, set_number, wait_until

    page = open_page().page
    open_tab(page, "Train")
    sent: list[int | None] = []
    page.on("request", lambda r: sent.append(json.loads(r.post_data or "{}").get("fn_index")) if "/run/predict" in r.url else None)
    query = lambda: dict(parse_qsl(urlsplit(page.evaluate("location.href")).query))  # noqa: E731
    for epochs in (2, 3, 4):
        before = len(sent)
        set_number(page, "Epochs", epochs)
        wait_until(lambda: query().get("epochs") == str(epochs), timeout=60, message=f"the address to hold epochs={epochs}")
        assert "Edited" in page.locator("#tp-preset").inner_text()  # the preset's note followed too
        assert len(sent) - before == 1, sent[before:]
    holds(lambda: len(sent) == 3, 3.0, lambda: f"quiet while the page sits still: {sent}")


# -- The loop view and Step ------------------------------------------------------------------


def _step(page, number: int) -> dict[str, float]:
    """Press Step and wait for its report; returns each layer's shown update size ‖Δw‖."""
    from app_pages import wait_until

    page.get_by_role("button", name="Step", exact=True).click()
    report = page.locator("#tp-step-report")
    wait_until(lambda: report.count() and f"Step {number}:" in report.inner_text(), timeout=180, message=f"the report of step {number}")
    titles = report.locator("[data-layer]").evaluate_all("rows => rows.map(r => [r.dataset.layer, r.title])")
    return {name: float(re.search(r"‖Δw‖ ([0-9.e+-]+)", title).group(1)) for name, title in titles}


def test_step_changes_the_weights_by_the_shown_update(open_page, screenshot, app_server, tmp_path):
    import torch

    from app_pages import set_number, status_text, wait_until
    from trainpad import TrainConfig
    from trainpad.engine.checkpoint import load_checkpoint
    from trainpad.testing import make_engine

    page = open_page().page
    open_tab(page, "Train")
    set_number(page, "Training samples", 640)
    set_number(page, "Batch size", 32)
    shown = _step(page, 1)
    loop = page.locator("#tp-loop").inner_text()
    assert "step 1 of 20: x (32, 1, 28, 28) float32, y (32,)" in loop and "loss " in loop and "‖grad‖" in loop
    assert "optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.0005, nesterov=True)" in loop
    report = page.locator("#tp-step-report").inner_text()
    assert "before the update" in report and report.count("labelled") == 4
    assert page.locator("#tp-step-report .tp-batch img").count() == 16
    screenshot(page, "stepped")
    page.get_by_role("button", name="Stop", exact=True).click()
    wait_until(lambda: status_text(page).startswith("Stopped"), timeout=60, message="the stepped run to stop")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download checkpoint").click()
    path = tmp_path / "stepped.pt"
    download.value.save_as(path)

    engine = make_engine()
    after = load_checkpoint(engine.registry, path).model
    before = engine.build_run(TrainConfig(batch_size=32, train_samples=640, device="cpu"), data_dir=app_server.data_dir).model
    for name, update in shown.items():
        pairs = zip(after.get_submodule(name).parameters(recurse=False), before.get_submodule(name).parameters(recurse=False))
        moved = torch.sqrt(sum(((a - b) ** 2).sum() for a, b in pairs)).item()
        assert moved == pytest.approx(update, rel=1e-3, abs=1e-7), name


def test_start_carries_on_the_run_that_step_began(open_page, screenshot):
    from app_pages import log_text, set_number, status_text, wait_until

    page = open_page().page
    open_tab(page, "Train")
    set_number(page, "Training samples", 640)
    set_number(page, "Batch size", 32)
    _step(page, 1)
    _step(page, 2)
    assert "step 2 of 20" in status_text(page)
    page.get_by_role("button", name="Start training").click()
    done = wait_until(lambda: (text := status_text(page)).startswith(("Done", "Stopped", "Error")) and text, timeout=180, message="the run to end")
    assert done.startswith("Done"), done
    log = log_text(page)
    assert "step 2: loss" in log and "carrying on from step 2" in log
    assert log.count("training mnist-cnn on mnist") == 1  # one run, not two
    assert "1 epoch, 20 steps" in page.locator("#tp-metrics").inner_text()  # the two stepped steps and 18 more
    screenshot(page, "carried-on")


# -- Korean -----------------------------------------------------------------------------------


def test_a_korean_browser_gets_the_page_in_korean(browser, app_url, screenshot):
    from app_pages import wait_until

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ko-KR")
    context.set_default_timeout(60_000)
    try:
        page = context.new_page()
        page.goto(app_url)
        tabs = page.get_by_role("tab")
        wait_until(lambda: tabs.count() >= 4 and tabs.first.inner_text().strip() == "예측", timeout=60, message="the tabs in Korean")
        assert [t.strip() for t in tabs.all_inner_texts()[:5]] == ["예측", "학습", "평가", "실험실", "플러그인"]
        open_tab(page, "학습")
        for label in ("학습 시작", "한 걸음", "중지", "스크립트로 내려받기", "이 설정의 링크 복사"):
            assert page.get_by_role("button", name=label, exact=True).count() == 1, label
        for label in ("에포크", "배치 크기", "시드"):
            assert page.get_by_label(label, exact=True).count() == 1, label
        wait_until(lambda: "현재 모델:" in page.locator("body").inner_text(), timeout=30, message="the model line in Korean")
        # a field out of its range says so in Korean, and so does the pop-up of a refused Start,
        # headed in Korean too (Gradio heads it "Error" whatever the language)
        epochs = page.get_by_label("에포크", exact=True)
        epochs.fill("99")
        note = page.locator(".block", has=epochs).last.locator(".tp-field-note")
        note.wait_for(state="visible", timeout=10_000)
        assert note.inner_text() == "1부터 20까지의 정수를 입력하세요."
        page.get_by_role("button", name="학습 시작", exact=True).click()
        toast = page.locator(".toast-body").first
        toast.wait_for(state="visible", timeout=30_000)
        wait_until(lambda: toast.locator(".toast-title").inner_text().strip() == "오류", timeout=10, message=lambda: f"the pop-up's header in Korean ({toast.inner_text()!r})")
        assert "학습 설정: 에포크은(는) 20 이하여야 합니다" in toast.inner_text(), toast.inner_text()
        screenshot(page, "korean-refused")
        toast.get_by_role("button", name="닫기", exact=True).click()
        epochs.fill("1")
        note.wait_for(state="detached", timeout=10_000)
        page.get_by_role("button", name="한 걸음", exact=True).click()
        wait_until(lambda: "한 걸음 진행:" in page.locator(".block.tp-status").inner_text(), timeout=180, message="Step's status in Korean")
        loop = page.locator("#tp-loop").inner_text()
        assert "처음 가중치, 그다음 드롭아웃" in loop and "손실 " in loop  # the loop's comments and what it did
        assert "업데이트 전" in page.locator("#tp-step-report").inner_text()
        assert "torch.optim.SGD(model.parameters(), lr=0.1" in loop  # code stays code
        screenshot(page, "korean")
        # a message from the server, in Korean
        page.get_by_role("button", name="중지", exact=True).click()
        wait_until(lambda: "중지됨" in page.locator(".block.tp-status").inner_text(), timeout=60, message="the stop in Korean")
    finally:
        context.close()


def test_the_loop_view_fills_in_a_plugin_optimizers_settings(open_page, screenshot):
    """The test plugin's plain-sgd (lr 0.05, weight decay 0): its own call, with the form's values."""
    from app_pages import choose, open_accordion, wait_until

    page = open_page().page
    open_tab(page, "Train")
    choose(page, "Optimizer", "plain-sgd")
    expected = "optimizer = torch.optim.SGD(model.parameters(), lr=0.05, weight_decay=0.0)"
    wait_until(lambda: expected in page.locator("#tp-loop").inner_text(), timeout=60, message="the plugin optimizer's line")
    open_accordion(page, "Hyperparameters")
    lr = wait_until(lambda: next((f for f in page.get_by_label("lr", exact=True).all() if f.is_visible()), None), timeout=30, message="its lr field")
    lr.fill("0.02")
    lr.press("Tab")
    changed = "optimizer = torch.optim.SGD(model.parameters(), lr=0.02, weight_decay=0.0)"
    wait_until(lambda: changed in page.locator("#tp-loop").inner_text(), timeout=60, message="the line to follow the form")
    assert "scheduler = torch.optim.lr_scheduler.OneCycleLR(" in page.locator("#tp-loop").inner_text()
    screenshot(page, "plugin-optimizer")


def test_step_again_sits_beside_what_a_step_shows_and_takes_the_next(open_page, screenshot):
    """Before (issue 22): Step's result was 1,500 px below its button."""
    from app_pages import set_number, wait_until

    page = open_page().page
    open_tab(page, "Train")
    set_number(page, "Training samples", 640)
    _step(page, 1)
    view, again = page.locator("#tp-step-view").bounding_box(), page.get_by_role("button", name="Step again").bounding_box()
    assert 0 <= again["y"] - (view["y"] + view["height"]) < 120, (view, again)
    page.get_by_role("button", name="Step again").click()
    report = page.locator("#tp-step-report")
    wait_until(lambda: "Step 2:" in report.inner_text(), timeout=180, message="the report of step 2")
    screenshot(page, "again")
