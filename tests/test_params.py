import math
from typing import Literal

import pytest

from trainpad.engine.params import Param, ParamDeclarationError, ParamError, params_for, validate_params


def test_numbers_are_parsed_and_checked():
    lr = Param("lr", float, 0.1, min=1e-6, max=10.0)
    assert lr.validate("0.5") == 0.5
    assert lr.validate(3) == 3.0
    for bad, words in [(math.nan, "finite"), (math.inf, "finite"), (None, "needs a value"), ("fast", "a number"),
                       (11, "at most 10"), (0, "at least 1e-06"), (True, "a number")]:
        with pytest.raises(ParamError, match=words):
            lr.validate(bad)


def test_integers_refuse_fractions():
    epochs = Param("epochs", int, 1, min=1, max=100)
    assert epochs.validate(2.0) == 2 and isinstance(epochs.validate(2.0), int)
    assert epochs.validate("7") == 7
    with pytest.raises(ParamError, match="whole number, got 2.5"):
        epochs.validate(2.5)


def test_booleans_and_choices():
    flag = Param("nesterov", bool, True)
    assert flag.validate("false") is False and flag.validate("yes") is True and flag.validate(1) is True
    with pytest.raises(ParamError, match="true or false"):
        flag.validate("maybe")
    mode = Param("mode", str, "a", choices=("a", "b"))
    with pytest.raises(ParamError, match="one of a, b"):
        mode.validate("c")


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(name="lr", type=float, default=20.0, max=10.0), "at most 10"),
        (dict(name="lr", type=list, default=[]), "use one of int"),
        (dict(name="bad name", type=int, default=1), "not a Python identifier"),
        (dict(name="x", type=int, default=1, min=5, max=2), "above max"),
        (dict(name="x", type=str, default="a", choices=()), "empty list"),
    ],
)
def test_bad_declarations_are_refused(kwargs, words):
    with pytest.raises(ParamDeclarationError, match=words):
        Param(**kwargs)


def test_params_are_derived_from_the_signature():
    def factory(parameters, *, lr=0.1, steps=3, mode: Literal["x", "y"] = "x", fast=True):
        pass

    params = {p.name: p for p in params_for(factory, [Param("lr", float, 0.2, max=1.0)], context=("parameters",))}
    assert list(params) == ["lr", "steps", "mode", "fast"]
    assert params["lr"].default == 0.2 and params["lr"].max == 1.0  # declared wins
    assert params["steps"].type is int and params["fast"].type is bool
    assert params["mode"].choices == ("x", "y")


def test_a_declared_name_the_factory_lacks_is_refused():
    def factory(parameters, lr=0.1):
        pass

    with pytest.raises(ParamDeclarationError, match="momentum.*does not accept"):
        params_for(factory, [Param("momentum", float, 0.9)], context=("parameters",))


def test_a_hyperparameter_needs_a_default():
    def factory(parameters, lr):
        pass

    with pytest.raises(ParamDeclarationError, match="'lr' has no default"):
        params_for(factory, context=("parameters",))


def test_validate_params_fills_defaults_and_names_the_owner():
    params = (Param("lr", float, 0.1, min=0.0), Param("steps", int, 3))
    assert validate_params(params, {"lr": "0.5"}, owner="optimizer sgd") == {"lr": 0.5, "steps": 3}
    with pytest.raises(ParamError, match="optimizer sgd has no parameter momentum"):
        validate_params(params, {"momentum": 1}, owner="optimizer sgd")
    with pytest.raises(ParamError, match="optimizer sgd: lr must be at least 0"):
        validate_params(params, {"lr": -1}, owner="optimizer sgd")
