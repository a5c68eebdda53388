"""Prediction preprocessing: from any picture to what an MNIST model expects."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from trainpad.engine.pictures import BlankImage, ImageError, centre_ink, prepare, to_ink

MNIST = dict(input_shape=(1, 28, 28), mean=(0.1307,), std=(0.3081,), ink="centre")


def sketch(strokes, size=800, width=50):
    """Black strokes on an opaque white RGBA canvas, as Gradio's Sketchpad sends them."""
    canvas = np.full((size, size, 4), 255, dtype=np.uint8)
    for (r0, c0, r1, c1) in strokes:
        canvas[r0:r1, c0:c1, :3] = 0
    return canvas


def test_a_vertical_stroke_becomes_a_centred_20_pixel_one():
    prepared = prepare(sketch([(200, 380, 600, 430)]), **MNIST)
    seen = prepared.seen
    assert seen.shape == (28, 28) and prepared.tensor.shape == (1, 1, 28, 28)
    rows = np.flatnonzero(seen.max(axis=1) > 64)
    assert rows[-1] - rows[0] + 1 in (19, 20, 21)  # the longer side is 20 px
    ys, xs = np.indices(seen.shape)
    mass = seen.astype(float).sum()
    assert abs((ys * seen).sum() / mass - 14) < 1 and abs((xs * seen).sum() / mass - 14) < 1
    # normalised like the training data: the background is (0 - mean) / std
    assert prepared.tensor.min().item() == pytest.approx(-0.1307 / 0.3081, abs=1e-4)


def test_polarity_and_mode_do_not_matter():
    dark_on_light = sketch([(100, 300, 700, 360), (100, 300, 160, 600)])
    light_on_dark = 255 - dark_on_light[:, :, :3]
    grey = Image.fromarray(dark_on_light[:, :, :3]).convert("L")
    transparent = np.zeros_like(dark_on_light)  # a drawing layer: ink only where drawn
    transparent[dark_on_light[:, :, 0] == 0] = (0, 0, 0, 255)
    results = [prepare(x, **MNIST).seen for x in (dark_on_light, light_on_dark, grey, transparent, Image.fromarray(transparent))]
    for other in results[1:]:
        assert np.abs(other.astype(int) - results[0].astype(int)).max() <= 2


def test_the_aspect_ratio_is_kept():
    seen = prepare(sketch([(300, 100, 400, 700)]), **MNIST).seen  # a wide bar
    rows = np.flatnonzero(seen.max(axis=1) > 64)
    cols = np.flatnonzero(seen.max(axis=0) > 64)
    assert len(cols) in (19, 20, 21) and len(rows) <= 5


@pytest.mark.parametrize(
    "value",
    [
        None,
        {"background": None, "layers": [], "composite": None},  # cleared pad
        np.full((800, 800, 4), 255, dtype=np.uint8),  # every stroke undone
        np.zeros((28, 28), dtype=np.uint8),
        np.full((50, 50, 3), 128, dtype=np.uint8),
    ],
)
def test_blank_pictures_say_nothing_is_drawn(value):
    with pytest.raises(BlankImage, match="nothing drawn"):
        prepare(value, **MNIST)


@pytest.mark.parametrize(
    "value, words",
    [
        (np.zeros((10, 10, 2), dtype=np.uint8), "shaped"),
        (np.zeros((4, 4, 4, 4), dtype=np.uint8), "shaped"),
        (np.array([["a", "b"]]), "numbers"),
        (np.full((8, 8), np.nan), "NaN"),
        ({"layers": []}, "composite"),
        ("a string", "numbers"),
        (np.zeros((0, 5), dtype=np.uint8), "empty"),
    ],
)
def test_unreadable_input_is_refused_clearly(value, words):
    with pytest.raises(ImageError, match=words):
        prepare(value, **MNIST)


def test_huge_pictures_are_refused_before_decoding(monkeypatch):
    monkeypatch.setenv("TRAINPAD_MAX_IMAGE_PIXELS", "10000")
    with pytest.raises(ImageError, match="more than the 10,000 allowed"):
        prepare(Image.new("L", (200, 200)), **MNIST)


def test_a_real_mnist_digit_survives_the_round_trip(real_mnist):
    import torchvision

    digits = torchvision.datasets.MNIST(str(real_mnist), train=False)
    for i in range(10):
        original = digits.data[i].numpy()
        drawn = 255 - np.asarray(Image.fromarray(original).resize((560, 560), Image.Resampling.BICUBIC))
        seen = prepare(drawn, **MNIST).seen.astype(float)
        correlation = np.corrcoef(seen.ravel(), original.astype(float).ravel())[0, 1]
        assert correlation > 0.8, (i, correlation)


@settings(max_examples=150, deadline=None)
@given(
    arrays(
        dtype=st.sampled_from([np.uint8, np.float32, np.int16, np.float64, np.bool_]),
        shape=st.tuples(st.integers(1, 64), st.integers(1, 64)) | st.tuples(st.integers(1, 48), st.integers(1, 48), st.sampled_from([1, 3, 4])),
    )
)
def test_any_array_gives_a_valid_input_or_a_clear_refusal(array):
    try:
        prepared = prepare(array, **MNIST)
    except (BlankImage, ImageError) as exc:
        assert str(exc)
        return
    assert prepared.seen.shape == (28, 28) and prepared.seen.dtype == np.uint8
    assert np.isfinite(prepared.tensor.numpy()).all()


def test_to_ink_makes_ink_light():
    gray = to_ink(sketch([(10, 10, 20, 20)], size=64))
    assert gray[15, 15] == 255 and gray[0, 0] == 0
    assert centre_ink(gray).max() > 200
