import pytest
from app_pages import set_number, status_text, toasts, wait_for_status
from test_training_view import RUN_TIMEOUT, start


@pytest.mark.parametrize("delay", [0, 150, 300, 500, 700, 900, 1200, 1600, 2000, 2500])
def test_start_after_stop_with_delay(open_page, delay):
    page = open_page().page
    start(page, samples=0, epochs=20)
    wait_for_status(page, r"step [\d,]+ of", timeout=RUN_TIMEOUT)
    set_number(page, "Training samples", 640)
    set_number(page, "Epochs", 1)
    page.get_by_role("button", name="Stop", exact=True).click()
    if delay:
        page.wait_for_timeout(delay)
    before = status_text(page)
    page.get_by_role("button", name="Start training").click()
    done = wait_for_status(page, r"^Done", timeout=90)
    assert done.startswith("Done. Run 2 reached 1 epoch"), (before, done)
