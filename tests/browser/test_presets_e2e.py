"""Presets and datasets that are not drawings, in Chromium against the real app.

Each preset, picked from the Train tab's Preset menu, fills the form (components, run
settings, hyperparameters); a change afterwards marks it "(edited)"; the quick one trains.
A model of Fashion-MNIST's photos swaps the Predict tab's sketch pad for uploads and
random test images (skipped without Debian's dataset-fashion-mnist, the only offline
source of its files).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app_pages import log_text, open_tab, set_number, status_text, use_shown_run, wait_until
from trainpad.engine.presets import PRESETS
from trainpad.web.forms import control_id

#: Seconds a run may take (the machine may be busy).
RUN_TIMEOUT = 240
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


def pick(page, label: str, option: str) -> None:
    """Choose ``option`` in the dropdown labelled ``label``, as a person does."""
    page.get_by_label(label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()


def field(page, label: str) -> str:
    return page.get_by_label(label, exact=True).input_value()


def preset_text(page) -> str:
    return page.locator("#tp-preset").inner_text()


@pytest.mark.parametrize("preset", PRESETS, ids=[p.name for p in PRESETS])
def test_each_preset_fills_the_form_and_an_edit_shows(open_page, screenshot, preset):
    page = open_page().page
    open_tab(page, "Train")
    if preset.name == "quick":  # Quick is what the form starts with: pick another first
        pick(page, "Preset", "The tutorial")
        wait_until(lambda: field(page, "Batch size") == "64", timeout=30, message="the tutorial's batch size")
    pick(page, "Preset", preset.label)
    settings = preset.settings()
    wait_until(
        lambda: field(page, "Epochs") == str(settings["epochs"]) and field(page, "Batch size") == str(settings["batch_size"]),
        timeout=30,
        message=f"{preset.label}'s run settings",
    )
    for kind, name in preset.components().items():
        assert field(page, kind.capitalize()) == name, kind
    assert field(page, "LR schedule") == settings["schedule"] and field(page, "Seed") == str(settings["seed"])
    wait_until(lambda: preset.summary in preset_text(page), timeout=30, message="the preset's summary")
    assert "(edited)" not in preset_text(page)
    # the preset's hyperparameters are in their fields (the accordion holds them)
    page.get_by_text("Hyperparameters", exact=True).click()
    for kind, values in preset.config.params.items():
        for name, value in values.items():
            shown = page.locator(f"#{control_id(kind, preset.components()[kind], name)}").locator("input").first
            if isinstance(value, bool):
                assert shown.is_checked() == value, (kind, name)
            else:
                assert float(shown.input_value()) == pytest.approx(float(value)), (kind, name)
    screenshot(page, "filled")

    set_number(page, "Epochs", settings["epochs"] + 1)
    wait_until(lambda: "Preset (edited)" in preset_text(page), timeout=30, message="the preset marked edited")
    assert f"epochs {settings['epochs']} → {settings['epochs'] + 1}" in preset_text(page)
    set_number(page, "Epochs", settings["epochs"])  # back as it was: the preset again
    wait_until(lambda: "(edited)" not in preset_text(page), timeout=30, message="the preset unmarked")


def test_the_quick_preset_trains(open_page, screenshot):
    page = open_page().page
    open_tab(page, "Train")
    pick(page, "Preset", "The tutorial")
    pick(page, "Preset", "Quick")
    wait_until(lambda: field(page, "Batch size") == "128", timeout=30, message="Quick's batch size")
    set_number(page, "Training samples", 1280)  # a tenth of a minute of training, even on a busy machine
    wait_until(lambda: "training samples 0 → 1280" in preset_text(page), timeout=30, message="the edit noted")
    page.get_by_role("button", name="Start training").click()
    wait_until(lambda: status_text(page).startswith("Done"), timeout=RUN_TIMEOUT, message="the run to finish")
    screenshot(page, "done")
    log = log_text(page)
    assert re.search(r"training mnist-cnn on mnist \(1,280 samples\) with sgd \(lr [\d.e-]+\) and nll: 1 epoch\(s\), batch 128, onecycle", log), log


@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(), reason=f"{DEBIAN_FASHION} is missing: apt install dataset-fashion-mnist")
def test_a_fashion_model_gets_uploads_and_test_images_instead_of_the_pad(open_page, screenshot):
    page = open_page().page
    open_tab(page, "Train")
    pick(page, "Preset", "Fashion-MNIST")
    wait_until(lambda: field(page, "Dataset") == "fashion-mnist", timeout=30, message="the Fashion-MNIST preset")
    set_number(page, "Epochs", 1)
    set_number(page, "Training samples", 1280)
    page.get_by_role("button", name="Start training").click()
    wait_until(lambda: status_text(page).startswith("Done"), timeout=RUN_TIMEOUT, message="the run to finish")
    # a model for another dataset waits for the user to pick it: the digits' model stays in use
    assert "It is for fashion-mnist, and the model in use (shipped) for mnist: that one stays in use." in status_text(page)
    use_shown_run(page)

    open_tab(page, "Predict")
    wait_until(lambda: "fashion-mnist pictures" in page.locator("#tp-predict-hint").inner_text(), timeout=30, message="the hint for photos")
    assert not page.locator("#tp-sketch").is_visible(), "the sketch pad is offered for photos"
    assert page.get_by_text("Upload a picture", exact=True).is_visible()
    page.get_by_role("button", name="Random test image").click()
    note = wait_until(lambda: (text := page.get_by_text(re.compile(r"^Test image [\d,]+ of fashion-mnist")).first) and text.is_visible() and text.inner_text(), timeout=60, message="a test image")
    truth = re.search(r"it is (.+?)\.", note).group(1)
    assert truth in ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    screenshot(page, "predict")


def test_opening_the_preset_list_and_clicking_away_keeps_the_edited_form(open_page, screenshot):
    """Before (issue 22): opening the Preset list and clicking elsewhere, without choosing,
    reset every field to the preset's (three times in three tries)."""
    page = open_page().page
    open_tab(page, "Train")
    set_number(page, "Training samples", 640)
    set_number(page, "Epochs", 2)
    wait_until(lambda: "Preset (edited)" in preset_text(page), timeout=30, message="the preset marked edited")
    menu = page.locator("#tp-preset input")
    for _ in range(3):
        menu.click()
        page.get_by_role("option").first.wait_for(state="visible", timeout=10_000)
        page.locator(".tp-header").first.click()  # away, choosing nothing
        page.get_by_role("option").first.wait_for(state="hidden", timeout=10_000)
    set_number(page, "Seed", 7)  # a round trip after the clicks: what they sent has come back by then
    wait_until(lambda: "seed 1 → 7" in preset_text(page), timeout=30, message="the seed's edit in the preset's note")
    assert field(page, "Training samples") == "640" and field(page, "Epochs") == "2"
    assert "Preset (edited)" in preset_text(page)
    screenshot(page, "kept")
    menu.click()  # choosing one still fills the form
    page.get_by_role("option", name=PRESETS[0].label, exact=True).click()
    wait_until(lambda: field(page, "Epochs") != "2", timeout=30, message="Quick's epochs")


def test_a_preset_that_corrects_a_field_takes_its_error_away(open_page, screenshot):
    """Before (issue 22): "Enter a whole number from 1 to 256" stayed beside the 16 a preset
    had put in the field."""
    page = open_page().page
    open_tab(page, "Train")
    epochs = page.get_by_label("Epochs", exact=True)
    block = page.locator(".block", has=epochs).last
    epochs.fill("99")
    block.locator(".tp-field-note").wait_for(state="visible", timeout=10_000)
    pick(page, "Preset", "The tutorial")  # fills every field, epochs among them
    wait_until(lambda: field(page, "Epochs") != "99", timeout=30, message="the tutorial's epochs")
    wait_until(lambda: block.locator(".tp-field-note").count() == 0, timeout=10, message="the note to go")
    assert "tp-field-invalid" not in (block.get_attribute("class") or "") and epochs.get_attribute("aria-invalid") is None
    screenshot(page, "corrected")
