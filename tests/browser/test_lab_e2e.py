"""The Lab in Chromium, as a learner uses it: two experiments run in English and one in Korean,
each leaving its screenshot (the learners' page, docs/learning.md, shows them), and the
convolution slid step by step over a drawing."""

from __future__ import annotations

import re

import pytest

from app_pages import SketchPad, choose, open_tab, vertical_one, wait_until

pytestmark = pytest.mark.browser

KOREAN = dict(locale="ko-KR", extra_http_headers={"Accept-Language": "ko-KR,ko;q=0.9"})


def choose_experiment(page, label: str, title: str) -> None:
    choose(page, label, title)
    wait_until(lambda: title in page.locator("#tp-lab-about").inner_text(), timeout=30, message=f"the Lab to show {title}")


def run_experiment(page, done: str) -> str:
    """Press the Lab's Run button and wait for its result; the finding it shows."""
    page.locator("#tp-lab-run").click()
    status = page.locator("#tp-lab-status")
    wait_until(lambda: status.inner_text().strip().startswith(done), timeout=120, message="the experiment to finish")
    return page.locator("#tp-lab-result .tp-finding").inner_text()


def changed_lines(page) -> list[str]:
    return [line.strip() for line in page.locator("#tp-lab-code .tp-changed").all_inner_texts()]


def test_two_experiments_in_english(open_page, screenshot):
    page = open_page().page
    open_tab(page, "Lab")
    choose_experiment(page, "Experiment", "optimizer.zero_grad()")
    assert changed_lines(page) == ["optimizer.zero_grad()", "# optimizer.zero_grad()  <- left out"]
    finding = run_experiment(page, "Done")
    assert re.match(r"Without optimizer\.zero_grad\(\) each gradient is the sum of every batch's so far: its norm went from [\d.]+ to [\d.]+", finding)
    assert page.locator("#tp-lab-result svg polyline").count() == 4  # loss and gradient norm, each arm
    screenshot(page, "zero-grad")

    choose_experiment(page, "Experiment", "DataLoader(shuffle=True)")
    assert page.locator("#tp-lab-result").inner_text().strip() == ""  # the last result went with its experiment
    finding = run_experiment(page, "Done")
    assert "Without shuffling, the loader handed out the pictures sorted by class" in finding
    rows = page.locator("#tp-lab-result table tr").all_inner_texts()
    assert any(row.startswith("test accuracy") for row in rows)
    screenshot(page, "shuffle")
    with page.expect_download(timeout=60_000) as download:
        page.locator("#tp-lab-export").click()
    assert download.value.suggested_filename == "lab_shuffle.py"
    source = download.value.path().read_text()
    assert "def shuffle(lab):" in source and "PARAMS = {}" in source


def test_an_experiment_in_korean(browser, app_url, screenshot):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **KOREAN)
    context.set_default_timeout(60_000)
    try:
        page = context.new_page()
        page.goto(app_url)
        wait_until(lambda: "실험실" in page.get_by_role("tab").all_inner_texts(), timeout=120, message="the tabs in Korean")
        korean_experiment(page, screenshot)
    finally:
        context.close()


def korean_experiment(page, screenshot) -> None:
    open_tab(page, "실험실")
    choose_experiment(page, "실험", "model.eval()")
    assert "model.train()은 드롭아웃과 배치 정규화를" in page.locator("#tp-lab-about").inner_text()
    finding = run_experiment(page, "완료")
    assert finding.startswith("eval() 모드에서는 두 번의 패스가 테스트 그림") and "train() 모드에서는" in finding
    assert "바뀐 답" in page.locator("#tp-lab-result table").inner_text()
    screenshot(page, "train-eval-korean")


def test_the_filter_slides_over_a_drawing_step_by_step(open_page, screenshot):
    page = open_page().page
    open_tab(page, "Lab")
    choose_experiment(page, "Experiment", "nn.Conv2d(in_channels, out_channels, kernel_size)")
    caption = page.locator("#tp-lab-conv p").first
    wait_until(lambda: "position 404 (row 14, column 12) of 0 to 783" in caption.inner_text(), timeout=60, message="the conv view on a test picture")
    page.locator("#tp-lab-step").click()
    wait_until(lambda: "position 405 (row 14, column 13) of 0 to 783" in caption.inner_text(), timeout=30, message="one step on")
    before = page.locator("#tp-lab-conv svg image").first.get_attribute("href")
    SketchPad(page, "tp-lab-pad").stroke(vertical_one()[0])  # a 1, drawn: the filter slides over it now
    wait_until(lambda: page.locator("#tp-lab-conv svg image").first.get_attribute("href") != before, timeout=60, message="the drawing in the view")
    assert "The filter: its 3×3 weights" in page.locator("#tp-lab-conv").inner_text()
    screenshot(page, "conv")
