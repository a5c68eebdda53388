"""A published page (``trainpad publish``) in Chromium, served by ``python -m http.server`` on
127.0.0.1 with every other address refused: digits drawn with the mouse are read in the
browser, the page prepares a drawing to the same 28x28 pixels as trainpad's server and gets
the same answer, a model of photos gets uploads and test images instead of a pad, and the
page speaks the browser's language, on a desktop and on a phone.
"""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest

from app_pages import PublishedPad, overflowing, wait_until
from digit_tracing import digit_strokes
from support import ROOT, untrained_model

pytestmark = pytest.mark.browser

#: Drawings whose page and server pictures are compared (the issue's hold-out-like set).
PARITY_DRAWINGS = 200
#: Real MNIST test digits drawn with the mouse, and how many the page must read right.
DRAWN, REQUIRED = 20, 19


def test_drawn_digits_are_read_in_the_browser_and_nothing_leaves_127_0_0_1(browser, published_site, real_digits, screenshot):
    images, labels = real_digits
    context, record = published_site.open(browser)
    pad = PublishedPad(record.page)
    right, wrong = 0, []
    for i in range(DRAWN):
        if i:
            pad.clear()
        got = pad.draw(digit_strokes(images[i]))
        if got.split()[0] == str(labels[i]):
            right += 1
        else:
            wrong.append(f"#{i}: {labels[i]} read as {got}")
    timings = record.page.evaluate("window.__tpTimings")
    screenshot(record.page, "drawn")
    context.close()
    print(f"\n{right}/{DRAWN} digits read; ms from a stroke's end to its answer: median {np.median(timings):.0f}")
    assert right >= REQUIRED, f"{right}/{DRAWN} right; wrong: {wrong}"
    assert published_site.elsewhere == [], f"the page asked for {published_site.elsewhere}"
    assert record.errors == [], record.errors


def hold_out_drawings(images: np.ndarray, count: int) -> list[list[list[list[float]]]]:
    """MNIST test digits (not the first 200, which the other tests draw) traced as strokes,
    drawn smaller or larger and away from the centre as people do."""
    rng = np.random.default_rng(21)
    drawings = []
    for digit in images[:count]:
        strokes = digit_strokes(digit)
        scale, dx, dy = rng.uniform(0.55, 1.0), rng.uniform(-120, 120), rng.uniform(-120, 120)
        drawings.append([[[400 + (x - 400) * scale + dx, 400 + (y - 400) * scale + dy] for x, y in stroke] for stroke in strokes])
    return drawings


#: Draws each drawing with the page's own pad (its dot and segment code, as the mouse draws),
#: then returns what the page made of it: the 28x28 picture, the top class and the pad's PNG.
PAGE_READS_JS = """async (drawings) => {
  const {state, prepare, probabilities} = window.__tpPage;
  const pad = state.pad, out = [];
  for (const strokes of drawings) {
    pad.strokes = strokes;
    pad.redraw();
    const pixels = pad.pixels();
    const p = await probabilities(pixels);
    out.push({seen: Array.from(prepare(pixels).seen), top: p.indexOf(Math.max(...p)), png: pad.canvas.toDataURL('image/png')});
  }
  pad.clear();
  return out;
}"""


def test_the_page_sees_the_28x28_the_server_sees_and_answers_alike(browser, published_site, real_mnist):
    from PIL import Image

    from trainpad.testing import make_engine

    raw = real_mnist / "MNIST" / "raw" / "t10k-images-idx3-ubyte"
    images = np.frombuffer(raw.read_bytes()[16:], dtype=np.uint8).reshape(-1, 28, 28)[200 : 200 + PARITY_DRAWINGS]
    engine = make_engine()
    trained = engine.load_checkpoint(ROOT / "plugins" / "pretrained" / "mnist-cnn.pt")
    context, record = published_site.open(browser)
    differences, disagreements = [], []
    drawings = hold_out_drawings(images, PARITY_DRAWINGS)
    for start in range(0, len(drawings), 25):
        for k, read in enumerate(record.page.evaluate(PAGE_READS_JS, drawings[start : start + 25])):
            picture = np.asarray(Image.open(io.BytesIO(base64.b64decode(read["png"].split(",", 1)[1]))).convert("RGBA"))
            server = engine.predict(trained, picture)
            differences.append(np.abs(np.asarray(read["seen"], np.float64).reshape(28, 28) - server.seen).mean() / 255)
            if trained.class_names[read["top"]] != server.top(1)[0][0]:
                disagreements.append((start + k, trained.class_names[read["top"]], server.top(1)[0][0]))
    context.close()
    print(f"\nmean absolute difference of the 28x28 pictures: {np.mean(differences):.2e} on average, {max(differences):.2e} at most")
    assert len(differences) == PARITY_DRAWINGS
    assert max(differences) < 1 / 255, f"drawing {int(np.argmax(differences))} differs by {max(differences) * 255:.2f}/255"
    assert disagreements == [], disagreements
    assert record.errors == [], record.errors


#: The page's preprocessing (its picture.js, as the page loaded it) on raw RGBA pixels, for
#: each ink mode: the 28x28 picture, or null for a picture the page takes for blank.
PAGE_PREPARES_JS = """async (pictures) => {
  const {prepare} = await import('./picture.js');
  return pictures.map(({rgba, width, height}) => {
    const data = Uint8ClampedArray.from(atob(rgba), (c) => c.charCodeAt(0));
    return ['centre', null].map((ink) => {
      try { return Array.from(prepare({data, width, height}, {input_shape: [1, 28, 28], mean: [0.1307], std: [0.3081], ink}).seen); }
      catch (error) { if (error.name === 'BlankImage') return null; throw error; }
    });
  });
}"""


def test_the_pages_preprocessing_is_the_servers_on_any_picture(browser, published_site):
    """Not only drawings: pictures of any size, on light, dark or noisy backgrounds, with
    transparency, faint or bold, through both of the server's ways (crop and centre the ink,
    or fit the whole picture), give the same 28x28 pixels in the page as on the server."""
    from trainpad.engine.pictures import BlankImage, prepare

    rng = np.random.default_rng(7)
    pictures = []
    for k in range(40):
        height, width = (int(v) for v in rng.integers(12, 260, 2))
        background = int(rng.choice([0, 255, 30, 220]))
        rgba = np.full((height, width, 4), 255, np.uint8)
        rgba[..., :3] = np.clip(background + rng.normal(0, 12 if k % 4 == 0 else 0, (height, width, 1)), 0, 255).astype(np.uint8)
        top, left = int(rng.integers(0, height // 2)), int(rng.integers(0, width // 2))
        rgba[top : top + int(rng.integers(2, height // 2 + 3)), left : left + int(rng.integers(2, width // 2 + 3)), :3] = rng.integers(0, 256, 3)
        if k % 3 == 0:
            rgba[..., 3] = rng.integers(0, 256, (height, width))
        pictures.append(rgba)
    context, record = published_site.open(browser)
    payload = [{"rgba": base64.b64encode(p.tobytes()).decode(), "width": p.shape[1], "height": p.shape[0]} for p in pictures]
    page_seen = record.page.evaluate(PAGE_PREPARES_JS, payload)
    context.close()
    for k, (rgba, ours) in enumerate(zip(pictures, page_seen)):
        for ink, got in zip(("centre", None), ours):
            try:
                expected = prepare(rgba, input_shape=(1, 28, 28), mean=(0.1307,), std=(0.3081,), ink=ink).seen.ravel().tolist()
            except BlankImage:
                expected = None
            assert got == expected, f"picture {k} ({rgba.shape[1]}x{rgba.shape[0]}), ink {ink}"


def png_of(array: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_model_of_photos_gets_uploads_and_test_images_instead_of_a_pad(browser, published_sites, tmp_path, screenshot):
    from trainpad.plugins.fashion_mnist import DEBIAN_DIR
    from trainpad.testing import make_engine

    if not DEBIAN_DIR.is_dir():
        pytest.skip(f"{DEBIAN_DIR} is missing: apt install dataset-fashion-mnist")
    engine = make_engine()
    site = published_sites(untrained_model(engine, "fashion-mnist", "mnist-cnn"), data_dir=tmp_path / "data", key="fashion")
    context, record = site.open(browser)
    page = record.page
    assert not page.locator("#pad").is_visible() and not page.locator("#clear").is_visible()
    assert "fashion-mnist pictures" in page.locator("#hint").inner_text()
    classes = json.loads((site.folder / "model.json").read_text())["classes"]
    # a test image is shown at once, named, and read
    note = wait_until(lambda: page.locator("#note").inner_text(), timeout=30, message="a test image")
    assert note.startswith("Test image ") and " of fashion-mnist: it is " in note
    wait_until(lambda: page.locator("#prediction b").count(), timeout=30, message="the answer")
    assert page.locator("#prediction b").inner_text() in classes
    page.locator("#sample").click()
    # an upload: a light shirt-like block on a dark background
    shirt = np.zeros((280, 280), np.uint8)
    shirt[40:240, 60:220] = 200
    page.locator("#upload").set_input_files({"name": "shirt.png", "mimeType": "image/png", "buffer": png_of(shirt)})
    wait_until(lambda: page.locator("#note").inner_text() == "shirt.png", timeout=30, message="the uploaded picture")
    wait_until(lambda: page.locator("#prediction b").count() and page.locator("#seen").is_visible(), timeout=30, message="its answer")
    assert page.locator("#prediction b").inner_text() in classes
    screenshot(page, "fashion")
    context.close()
    assert site.elsewhere == [] and record.errors == [], (site.elsewhere, record.errors)


@pytest.mark.parametrize("locale, viewport", [("en-US", (1280, 900)), ("ko-KR", (1280, 900)), ("en-US", (390, 844)), ("ko-KR", (390, 844))],
                         ids=["en-desktop", "ko-desktop", "en-phone", "ko-phone"])
def test_the_page_speaks_the_browsers_language_on_a_desktop_and_a_phone(browser, published_site, screenshot, locale, viewport):
    phone = viewport[0] < 500
    context, record = published_site.open(browser, viewport, locale=locale, **({"is_mobile": True, "has_touch": True} if phone else {}))
    page = record.page
    korean = locale.startswith("ko")
    assert page.evaluate("document.documentElement.lang") == ("ko" if korean else "en")
    assert page.locator("#clear").inner_text() == ("지우기" if korean else "Clear")
    assert page.locator("#prediction").inner_text() == ("숫자를 그려 보세요" if korean else "Draw a digit")
    pad = PublishedPad(page)
    assert pad.draw([[(400.0, 160.0), (400.0, 400.0), (400.0, 640.0)]]).split()[0] == "1"
    box = pad.canvas.bounding_box()
    assert 0 <= box["x"] and box["x"] + box["width"] <= viewport[0], box
    if phone:  # the answer and the whole pad are in sight together
        answer = page.locator("#prediction").bounding_box()
        assert answer["y"] >= 0 and box["y"] + box["height"] <= viewport[1], (answer, box)
    assert overflowing(page, viewport[0]) == []
    wait_until(lambda: page.evaluate("document.body.dataset.saliency"), timeout=30, message="the saliency map")
    screenshot(page, "page")
    context.close()
    assert record.errors == [], record.errors
