import pytest

from trainpad import Param
from trainpad.engine.registry import Registry, RegistrationError, UnknownComponent, make_component


def model(*, input_shape, num_classes, width=8):
    """A model for tests."""


def test_a_component_records_its_plugin_params_and_description():
    c = make_component("model", "tiny", model, plugin="mine", output="logits")
    assert (c.kind, c.name, c.plugin, c.description) == ("model", "tiny", "mine", "A model for tests.")
    assert [p.name for p in c.params] == ["width"]  # input_shape and num_classes are context
    assert c.meta["output"] == "logits"
    assert c.validate({"width": "4"}) == {"width": 4}


@pytest.mark.parametrize(
    "args, kwargs, words",
    [
        (("model", "Bad Name", model), {}, "name must be lowercase"),
        (("model", "ok", "not callable"), {}, "is not callable"),
        (("model", "ok", model), {"params": [Param("depth", int, 2)]}, "depth.*does not accept"),
        (("model", "ok", model), {"params": ["width"]}, "trainpad.Param"),
        (("dataset", "ok", lambda *, root, train: None), {}, "class_names"),
        (("widget", "ok", model), {}, "unknown kind"),
    ],
)
def test_invalid_registrations_name_the_plugin_and_the_problem(args, kwargs, words):
    with pytest.raises(RegistrationError, match=words) as info:
        make_component(*args, plugin="mine", **kwargs)
    assert "plugin 'mine'" in str(info.value)


def test_duplicates_name_both_plugins():
    registry = Registry()
    registry.add(make_component("model", "tiny", model, plugin="first"))
    with pytest.raises(RegistrationError, match="by plugin 'first' and by plugin 'second'"):
        registry.add(make_component("model", "tiny", model, plugin="second"))
    assert registry.get("model", "tiny").plugin == "first"


def test_unknown_names_list_what_exists():
    registry = Registry()
    registry.add(make_component("model", "tiny", model, plugin="first"))
    with pytest.raises(UnknownComponent, match="no model named 'huge'.*available: tiny"):
        registry.get("model", "huge")


def test_the_builtins_are_registered(engine):
    names = {kind: engine.registry.names(kind) for kind in ("dataset", "model", "optimizer", "loss")}
    assert "mnist" in names["dataset"] and "mnist-cnn" in names["model"]
    assert "sgd" in names["optimizer"] and "nll" in names["loss"]
    sgd = engine.registry.get("optimizer", "sgd")
    assert {p.name for p in sgd.params} >= {"lr", "momentum", "weight_decay", "nesterov"}
    assert engine.registry.get("model", "mnist-cnn").meta["output"] == "log_probs"
    assert engine.registry.get("loss", "nll").meta["expects"] == "log_probs"
    assert all(info.status == "loaded" for info in engine.plugins.values())
