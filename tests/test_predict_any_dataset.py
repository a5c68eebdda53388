"""The Predict tab for any dataset: the sketch pad where a drawing makes sense (digits,
KMNIST's glyphs), uploads instead for photos (Fashion-MNIST), random test images for all.

Models are trained here on small IDX files (``write_idx_dataset``), never downloaded.
"""

from __future__ import annotations

import random
from types import SimpleNamespace

import numpy as np
import pytest

from trainpad import TrainConfig
from trainpad.engine.pictures import prepare
from trainpad.testing import write_idx_dataset
from trainpad.web.messages import UserError
from trainpad.web.predict_handler import BLANK, Predictor, picture_source
from trainpad.web.sessions import SessionStore

pytestmark = pytest.mark.usefixtures(
    "clean_knobs",  # the environment running the tests sets none
    "no_debian_files",  # Fashion-MNIST reads the small files below
)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    for folder in ("MNIST", "FashionMNIST", "KMNIST"):
        write_idx_dataset(root, folder)
    return root




@pytest.fixture(scope="module")
def trained(data):
    """A model trained briefly on each built-in dataset, by dataset name."""
    from trainpad.engine.engine import Engine

    engine = Engine.load(entrypoints=False)
    config = dict(model="mlp", loss="cross-entropy", optimizer="adam", epochs=2, batch_size=32, device="cpu")
    models = {name: engine.build_run(TrainConfig(dataset=name, **config), data_dir=data).run().trained for name in ("mnist", "fashion-mnist", "kmnist")}
    return engine, models


def predictor_with(engine, model, data):
    store = SessionStore(lambda: None)
    store.get("alice").set_model(model, "trained here")
    return Predictor(engine, store, data_dir=data)


def test_the_pad_is_for_drawn_glyphs_and_uploads_for_photos(trained):
    _, models = trained
    digits, photos, glyphs = (picture_source(models[name]) for name in ("mnist", "fashion-mnist", "kmnist"))
    assert digits.drawable and digits.blank == BLANK and digits.hint.startswith("Draw a digit")
    assert glyphs.drawable and glyphs.hint == (
        "Draw one of the 10 kmnist classes: お (o), き (ki), す (su), つ (tsu), な (na), は (ha), ま (ma), や (ya), れ (re), を (wo)."
    )
    assert not photos.drawable
    assert photos.hint.startswith("This model was trained on fashion-mnist pictures (T-shirt/top, Trouser, Pullover")
    assert "a drawing would mean nothing to it. Upload a picture of one" in photos.hint and "random test image" in photos.hint
    assert picture_source(None).drawable  # the tab's first look, before it knows the model


@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist", "kmnist"])
def test_a_random_test_image_is_predicted_and_its_class_named(trained, data, dataset):
    engine, models = trained
    predictor = predictor_with(engine, models[dataset], data)
    picture, view = predictor.random_test_image("alice", rng=random.Random(3))
    index = random.Random(3).randrange(128)
    test_set = engine.load_dataset(dataset, train=False, root=data)
    assert np.array_equal(picture, test_set.images[index, 0].numpy())  # the stored pixels, not a copy made up
    truth = models[dataset].class_names[int(test_set.targets[index])]
    assert view.note.startswith(f"Test image {index} of {dataset}: it is **{truth}**. **Model:** mlp on {dataset}")
    assert set(view.label) == set(models[dataset].class_names) and abs(sum(view.label.values()) - 1) < 1e-4
    assert view.seen.shape == (224, 224)


def test_a_random_test_image_needs_a_model_and_its_data(trained, tmp_path, monkeypatch):
    engine, models = trained
    with pytest.raises(UserError, match="There is no model yet"):
        Predictor(engine, SessionStore(lambda: None)).random_test_image("bob")
    monkeypatch.setenv("TRAINPAD_OFFLINE", "1")
    predictor = predictor_with(engine, models["kmnist"], tmp_path / "empty")
    with pytest.raises(UserError, match="KMNIST is not on this server yet, and this server does not download datasets") as refused:
        predictor.random_test_image("alice")
    assert str(tmp_path) not in refused.value.message  # a web user is shown no folder of the server's


def test_a_photo_is_fitted_whole_not_stretched():
    # a wide dark shoe on a white background, like a shop's photo
    photo = np.full((100, 200), 255, dtype=np.uint8)
    photo[30:70, 20:180] = 40
    seen = prepare(photo, input_shape=(1, 28, 28), ink=None).seen
    rows = np.flatnonzero(seen.max(axis=1) > 100)
    cols = np.flatnonzero(seen.max(axis=0) > 100)
    assert cols[0] <= 3 and cols[-1] >= 24  # as wide as the picture allows
    assert 5 <= len(rows) <= 7 and abs((rows[0] + rows[-1]) / 2 - 13.5) <= 1  # its own height, centred
    assert seen[0].max() == 0 and seen[-1].max() == 0  # black bands where the photo had none


def test_the_predict_tab_follows_the_sessions_model(trained, data, monkeypatch):
    import gradio as gr

    from trainpad.web import app

    engine, models = trained
    demo = app.build_app(engine)
    shows = [
        f for f in demo.fns.values()
        if getattr(f.fn, "__qualname__", "").endswith("on_show") and f.fn.__module__ == "trainpad.plugins.predict_tab"
    ]  # every tab has an on_show: picked by module, not by name
    (show,) = shows
    store = demo.trainpad_app.store
    request = SimpleNamespace(session_hash="carol")
    note, hint, pad, undo, clear, upload_box = show.fn(request)
    assert pad.visible is True and undo.visible is True and clear.visible is True and upload_box.open is False  # the shipped digits model
    store.get("carol").set_model(models["fashion-mnist"], "trained here")
    note, hint, pad, undo, clear, upload_box = show.fn(request)
    assert pad.visible is False and undo.visible is False and clear.visible is False and upload_box.open is True
    assert hint.startswith("This model was trained on fashion-mnist") and note.startswith("**Model:** mlp on fashion-mnist")
    assert isinstance(upload_box, gr.Accordion) and upload_box.label == "Upload a picture"
