"""The Train form's one reading (:class:`trainpad.web.train_form.FormSpec`): an event's values,
as Gradio hands them over by API name, in; a TrainConfig, or the message a user sees, out.
No Gradio: the fields are stand-ins, as the spec only passes them on."""

from __future__ import annotations

import pytest

from trainpad.engine.config import TRAINED_KINDS, TrainConfig
from trainpad.web.forms import ParamControl, api_key
from trainpad.web.messages import UserError
from trainpad.web.runs import SHIPPED, run_in_row
from trainpad.web.train_form import FormSpec

SETTINGS = ("epochs", "batch_size", "train_samples", "schedule", "seed", "device")


@pytest.fixture
def spec(engine) -> FormSpec:
    """The form as the Train tab builds it, each field standing in by its own API name."""
    controls = [
        ParamControl(kind, component.name, param, api_key(kind, component.name, param.name), control=api_key(kind, component.name, param.name))
        for kind in TRAINED_KINDS
        for component in engine.registry.components(kind)
        for param in component.params
    ]
    return FormSpec({kind: kind for kind in TRAINED_KINDS}, {name: name for name in SETTINGS}, controls, resume="resume")


@pytest.fixture
def sent(spec) -> dict:
    """What Start sends for the default recipe with a few changes, as a browser sends it:
    whole numbers as floats, every component's hyperparameters, shown or not."""
    values = {c.key: c.param.default for c in spec.controls}
    values.update(dataset="mnist", model="mnist-cnn", optimizer="sgd", loss="nll", epochs=3.0, batch_size=64.0,
                  train_samples=0.0, schedule="onecycle", seed=7.0, device="cpu", resume=False)  # fmt: skip
    values.update(optimizer_sgd_lr=0.2, optimizer_adamw_lr=0.5, model_mnist_cnn_batch_norm="false")
    return values


def test_the_fields_go_by_their_api_names_in_the_apis_order(spec):
    names = list(spec.inputs(resume=True))
    assert names[:11] == [*TRAINED_KINDS, *SETTINGS, "resume"]
    assert names[11:] == [c.key for c in spec.controls] and "optimizer_sgd_lr" in names
    assert "resume" not in spec.inputs() and spec.inputs(resume=True)["resume"] == "resume"
    # what a preset or a link fills: all but the machine's own device
    assert spec.portable == {name: name for name in SETTINGS if name != "device"}
    assert spec.fields == [*TRAINED_KINDS, *(c.control for c in spec.controls), *spec.portable]


def test_the_forms_values_become_a_config(spec, sent):
    config = spec.config(sent)
    assert isinstance(config, TrainConfig)
    assert (config.dataset, config.model, config.optimizer, config.loss) == ("mnist", "mnist-cnn", "sgd", "nll")
    assert (config.epochs, config.batch_size, config.train_samples, config.seed) == (3, 64, 0, 7)
    assert all(isinstance(n, int) for n in (config.epochs, config.batch_size, config.train_samples, config.seed))
    assert (config.schedule, config.device) == ("onecycle", "cpu")
    # the chosen components' hyperparameters only (not adamw's), a checkbox's "false" a flag
    assert config.params["optimizer"]["lr"] == 0.2 and "lr" not in config.params.get("loss", {})
    assert config.params["model"]["batch_norm"] is False
    assert spec.resumed(sent) is False and spec.resumed({**sent, "resume": "true"}) is True


def test_the_form_is_read_once_for_every_event(spec, sent, engine):
    read = spec.read(sent)
    assert read.choices == {"dataset": "mnist", "model": "mnist-cnn", "optimizer": "sgd", "loss": "nll"}
    assert read.settings["device"] == "cpu" and set(read.settings) == set(SETTINGS)
    assert read.config() == spec.config(sent)
    engine.check_config(read.config())  # a run would take it


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"dataset": None}, "Choose the dataset from the list (got None)."),
        ({"model": "  "}, "Choose the model from the list (got '  ')."),
        ({"model_mnist_cnn_batch_norm": "yes"}, "model mnist-cnn: batch_norm must be true or false, got 'yes'."),
    ],
)
def test_a_bad_value_is_refused_with_what_the_user_sees(spec, sent, change, message):
    with pytest.raises(UserError) as caught:
        spec.config({**sent, **change})
    assert caught.value.message == message


def test_carrying_on_must_be_a_flag(spec, sent):
    with pytest.raises(UserError) as caught:
        spec.resumed({**sent, "resume": "maybe"})
    assert caught.value.message == "Carry on training must be true or false, got 'maybe'."


@pytest.mark.parametrize(
    ("row", "number"),
    [
        (["run 3", "●", "97.00%"], "3"), (["shipped", ""], SHIPPED), (["run 12 "], "12"), (None, ""), (["nonsense"], "nonsense"),
        (["실행 3", "●"], "3"), (["기본 제공", ""], SHIPPED),  # a Korean page's table: its labels are translated
    ],
)
def test_a_runs_table_row_names_its_run(row, number):
    assert run_in_row(row) == number
