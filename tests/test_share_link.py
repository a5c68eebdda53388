"""The shareable link: the Train tab's choices in the page's address, and back."""

from __future__ import annotations

from urllib.parse import parse_qsl

from trainpad.web.share_link import MAX_QUERY, form_from_query, form_query
from trainpad.web.limits import limits

CHOICES = {"dataset": "mnist", "model": "mnist-cnn", "optimizer": "sgd", "loss": "nll"}
DEFAULT_RUN = {"epochs": 1, "batch_size": 128, "train_samples": 0, "schedule": "onecycle", "seed": 1}


def test_a_link_holds_the_components_and_what_differs_from_the_defaults(engine):
    query = form_query(engine, {**CHOICES, "optimizer": "adamw"}, {"optimizer": {"lr": 0.002, "weight_decay": 1e-4}, "model": {"width": 16}},
                       {**DEFAULT_RUN, "epochs": 3, "seed": "7"})  # fmt: skip
    assert parse_qsl(query) == [("dataset", "mnist"), ("model", "mnist-cnn"), ("optimizer", "adamw"), ("loss", "nll"),
                                ("optimizer.lr", "0.002"), ("epochs", "3"), ("seed", "7")]  # fmt: skip
    assert form_query(engine, CHOICES, {}, DEFAULT_RUN) == "dataset=mnist&model=mnist-cnn&optimizer=sgd&loss=nll"
    # what a run would refuse is left out, so that the link opens
    assert "optimizer.lr" not in form_query(engine, CHOICES, {"optimizer": {"lr": "abc"}}, {**DEFAULT_RUN, "epochs": -1})


def test_opening_a_link_gives_back_the_form(engine):
    query = form_query(engine, {**CHOICES, "optimizer": "adamw"}, {"optimizer": {"lr": 0.002}, "model": {"batch_norm": False}},
                       {**DEFAULT_RUN, "epochs": 3, "schedule": "cosine"})  # fmt: skip
    linked = form_from_query(engine, dict(parse_qsl(query)))
    assert linked.choices == {**CHOICES, "optimizer": "adamw"}
    assert linked.params == {"optimizer": {"lr": 0.002}, "model": {"batch_norm": False}}
    assert linked.settings == {"epochs": 3, "schedule": "cosine"}
    assert linked.problems == [] and linked.note() == ""


def test_a_link_anyone_edited_is_checked_as_a_run_is(engine, monkeypatch):
    monkeypatch.setenv("TRAINPAD_MAX_EPOCHS", "5")
    linked = form_from_query(engine, {
        "dataset": "nope", "model": "mnist-cnn", "optimizer": "sgd", "model.width": "9999", "optimizer.lr": "0.05",
        "optimizer.evil": "1", "loss.smoothing": "0.1", "epochs": "50", "seed": "3", "utm_source": "x", "__theme": "dark",
    }, run_params=limits().run_params())  # fmt: skip
    assert linked.choices == {"model": "mnist-cnn", "optimizer": "sgd"}
    assert linked.params == {"optimizer": {"lr": 0.05}} and linked.settings == {"seed": 3}
    text = " | ".join(linked.problems)
    assert "dataset 'nope' (not installed here)" in text and "'model.width' '9999' (width must be at most 256" in text
    assert "optimizer sgd has no such hyperparameter" in text and "its loss is not in the link" in text
    assert "epochs '50' (epochs must be at most 5" in text
    assert "(and 1 more)" in linked.note()
    huge = form_from_query(engine, {"seed": "1" * (MAX_QUERY + 1)})
    assert huge.empty and "characters" in huge.problems[0]
