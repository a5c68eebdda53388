"""Test samples on Evaluate: random test images with the model's answers, right and wrong."""

from __future__ import annotations

import numpy as np
import torch

from trainpad.web.evaluate_handler import SAMPLES, Evaluator
from trainpad.web.sessions import SessionStore
from trainpad.web.shipped_model import shipped_loader


def test_the_answers_are_the_models_own_for_random_test_samples(engine, mnist_dir):
    trained = shipped_loader(engine)()
    result = engine.evaluate(trained, data_dir=mnist_dir, answers=20, seed=3)
    indices = [a.index for a in result.answers]
    assert len(indices) == 20 == len(set(indices)) and all(0 <= i < result.count for i in indices)
    assert [a.index for a in engine.evaluate(trained, data_dir=mnist_dir, answers=20, seed=3).answers] == indices
    draws = {tuple(a.index for a in engine.evaluate(trained, data_dir=mnist_dir, answers=20).answers) for _ in range(3)}
    assert len(draws) > 1  # without a seed, each evaluation shows other images
    test_set = engine.load_dataset("mnist", train=False, root=mnist_dir)
    x, y = test_set[torch.tensor(indices)]
    with torch.inference_mode():
        probs = trained.probabilities(trained.model(x))
    confidence, predicted = probs.max(dim=1)
    assert [a.predicted for a in result.answers] == predicted.tolist()
    assert [a.true for a in result.answers] == y.tolist()
    assert np.allclose([a.confidence for a in result.answers], confidence.numpy(), atol=1e-5)
    assert [a.correct for a in result.answers] == (predicted == y).tolist()
    # a smaller evaluation draws from the images it evaluates
    few = engine.evaluate(trained, data_dir=mnist_dir, samples=10, answers=20, seed=1)
    assert sorted(a.index for a in few.answers) == list(range(10))


def test_the_evaluate_tab_frames_right_answers_green_and_wrong_ones_red(engine, mnist_dir):
    store = SessionStore(shipped_loader(engine))
    view = Evaluator(engine, store, data_dir=mnist_dir).evaluate("alice", seed=0)
    assert len(view.samples) == SAMPLES
    kinds = set()
    for picture, caption in view.samples:
        corner = picture.getpixel((1, 1))
        right = caption.startswith("✓")
        kinds.add(right)
        assert corner == ((22, 163, 74) if right else (220, 38, 38)), (caption, corner)
        assert right or ", truly " in caption
        assert picture.size == (112 + 8, 112 + 8)
    assert kinds == {True, False}  # the small test set of mnist_dir has both
    store.close()
