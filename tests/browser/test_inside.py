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
