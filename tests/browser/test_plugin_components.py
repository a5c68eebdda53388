"""A plugin's components in a real browser: the app the browser tests start has the test
plugin ``extras`` installed (``tests/plugins/trainpad_test_extras.py``, an entry point in
a site folder on ``PYTHONPATH``; see conftest.py), which adds a second dataset, model,
optimizer, loss and callback, and a tab.

A person picks each of them in its dropdown and back, and sees the component's
hyperparameter fields appear and the previous one's go; then trains a few hundred
samples with all four, evaluates the model and draws on the pad for it.  Which groups of
fields should show is read from the components themselves, not written down here.
"""

from __future__ import annotations

import importlib
import re
import sys

import pytest

from app_pages import (
    BLANK,
    SketchPad,
    chosen,
    choose,
    current_model_text,
    hyperparameter_groups,
    open_accordion,
    open_tab,
    set_number,
    shown_model,
    status_text,
    use_shown_run,
    vertical_one,
    wait_until,
)
from support import ROOT, TEST_PLUGIN

pytestmark = pytest.mark.browser

KINDS = ("dataset", "model", "optimizer", "loss")
RUN_TIMEOUT = 120


@pytest.fixture(scope="module")
def components():
    """``{kind: {name: has hyperparameters}}`` for the built-ins and the test plugin, and
    the test plugin's component of each kind: ``(params, plugin_choice)``."""
    from trainpad.engine.engine import Engine
    from trainpad.engine.plugin_loader import PluginInfo, load_plugins, make_plugin_manager

    sys.path.insert(0, str(ROOT / "tests" / "plugins"))
    try:
        module = importlib.import_module(TEST_PLUGIN["module"])
    finally:
        sys.path.pop(0)
    pm = make_plugin_manager()
    infos = load_plugins(pm, entrypoints=False)
    pm.register(module, name=TEST_PLUGIN["name"])
    infos[TEST_PLUGIN["name"]] = PluginInfo(TEST_PLUGIN["name"])
    engine = Engine(pm, infos).startup()
    params = {kind: {c.name: bool(c.params) for c in engine.registry.components(kind)} for kind in KINDS}
    plugin_choice = {kind: next(c.name for c in engine.registry.components(kind) if c.plugin == TEST_PLUGIN["name"]) for kind in KINDS}
    return params, plugin_choice


def expected_groups(params, choices) -> list[str]:
    return [f"{kind.capitalize()} {choices[kind]}" for kind in KINDS if params[kind][choices[kind]]]


def test_each_plugin_component_shows_its_fields_then_trains_evaluates_and_predicts(open_page, screenshot, components):
    params, plugin_choice = components
    record = open_page()
    page = record.page
    open_tab(page, "Train")
    open_accordion(page, "Hyperparameters")
    choices = {kind: chosen(page, kind.capitalize()) for kind in KINDS}
    wait_until(lambda: hyperparameter_groups(page) == expected_groups(params, choices), timeout=30,
               message=f"the default components' fields {expected_groups(params, choices)}")
    # both cases happen: some kinds switch to a component with fields, some to one without
    assert {params[kind][plugin_choice[kind]] for kind in KINDS} == {True, False}

    for kind in KINDS:
        label = kind.capitalize()
        builtin = choices[kind]
        for name in (plugin_choice[kind], builtin, plugin_choice[kind]):  # the plugin's, back, and the plugin's again
            choose(page, label, name)
            choices[kind] = name
            want = expected_groups(params, choices)
            wait_until(lambda: hyperparameter_groups(page) == want, timeout=30,
                       message=f"the fields {want} after choosing {kind} {name} (shown: {hyperparameter_groups(page)})")
            assert chosen(page, label) == name, f"the {label} dropdown shows {chosen(page, label)!r}, not {name!r}"
        screenshot(page, f"chose-{kind}")
    assert {kind: chosen(page, kind.capitalize()) for kind in KINDS} == plugin_choice  # none was changed by another

    # the plugin's hyperparameters are used: a little noise, another learning rate
    set_number(page, "noise", 0.05)
    lr = page.get_by_label("lr", exact=True).filter(visible=True)
    assert lr.count() == 1, "only the chosen optimizer's learning-rate field shows"
    lr.fill("0.1")
    lr.press("Tab")

    set_number(page, "Training samples", 300)
    set_number(page, "Epochs", 1)
    page.get_by_role("button", name="Start training").click()
    done = wait_until(lambda: (text := status_text(page)).startswith(("Done", "Stopped", "Error")) and text,
                      timeout=RUN_TIMEOUT, message="the run to finish")
    screenshot(page, "trained")
    assert done.startswith("Done"), done
    model = f"{plugin_choice['model']} on {plugin_choice['dataset']}"
    # a model for another dataset (or one below the model in use) waits to be picked: the rule of runs
    if plugin_choice["dataset"] != "mnist":
        assert f"It is for {plugin_choice['dataset']}, and the model in use (shipped) for mnist" in done, done
    if "Use this run" in done:
        use_shown_run(page)
    assert model in current_model_text(page) and "trained here" in current_model_text(page), current_model_text(page)

    open_tab(page, "Evaluate")
    assert model in shown_model(page, containing=model)
    set_number(page, "Test images", 500)
    page.get_by_role("button", name="Evaluate", exact=True).click()
    summary = page.get_by_text(re.compile(r"Accuracy \d+\.\d+%"))
    summary.wait_for(state="visible", timeout=RUN_TIMEOUT * 1000)
    assert re.search(r"of 500 test images", summary.inner_text()), summary.inner_text()
    assert page.locator("table.tp-cm tbody tr").count() == 10
    screenshot(page, "evaluated")

    open_tab(page, "Predict")
    assert model in shown_model(page, containing=model)
    pad = SketchPad(page)
    label = pad.draw(vertical_one())
    assert label in [str(d) for d in range(10)], f"the pad read {label!r} (not a digit, nor {BLANK!r})"
    screenshot(page, "predicted")
    assert record.errors == [], "\n".join(record.errors)


def test_the_plugin_and_its_tab_are_listed_and_its_tab_opens(visitor, screenshot, components):
    _, plugin_choice = components
    page = visitor.page
    open_tab(page, "Plugins")
    table = page.locator("table.tp-plugins")
    table.wait_for(state="visible")
    row = table.locator("tbody tr").filter(has=page.locator("td b", has_text=re.compile(rf"^{TEST_PLUGIN['name']}$"))).inner_text()
    assert f"{TEST_PLUGIN['dist']} {TEST_PLUGIN['version']}" in row and "loaded" in row, row
    for kind, name in plugin_choice.items():
        assert f"{kind} {name}" in row, row
    assert "callback step-counter" in row and "tab Extras" in row
    open_tab(page, "Extras")
    shown = page.locator("#tp-extras").inner_text()
    assert all(f"{kind} {name}" in shown for kind, name in plugin_choice.items()), shown
    screenshot(page)
    assert visitor.errors == [], "\n".join(visitor.errors)
