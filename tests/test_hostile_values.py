"""Values a hostile client sends, through the handlers that show or use them (issue 22):
cut to a few dozen characters before any message quotes them, translated in bounded time,
escaped where a toast shows them as HTML, neutralised where a spreadsheet would run them,
and refused by export exactly as by Start.  Real engine, real handlers, no server (the
server-level cases are in ``tests/test_public_server.py``).
"""

from __future__ import annotations

import csv
import io
import time

import pytest

from trainpad.engine.config import TrainConfig
from trainpad.engine.errors import ConfigError
from trainpad.web.cells import cell
from trainpad.web.export_handler import Exporter
from trainpad.web.i18n import translate, translate_outputs
from trainpad.web.messages import UserError, toast
from trainpad.web.plots import Curves
from trainpad.web.preset_form import preset_note
from trainpad.web.runs import RunRecord
from trainpad.web.sessions import SessionStore
from trainpad.web.shipped_model import shipped_loader
from trainpad.web.share_link import form_from_query
from trainpad.web.train_handler import Trainer

#: A device name made to make a regular expression with ``.*?`` groups backtrack: it fits
#: "{model} on {dataset}, {epochs*}, ..." at every comma (2.4 kB froze the server 9.8 s).
CRAFTED = "a on " + ", " * 50_000
#: Links and pictures that a toast shown as HTML would make live.
MARKUP = ["<img src=//attacker.example/x>", '<a href="https://attacker.example/login">Log in</a>']


@pytest.fixture
def store(engine):
    return SessionStore(shipped_loader(engine))


def test_a_crafted_line_is_translated_in_linear_time():
    started = time.perf_counter()
    # Messages are rendered by key: text is looked up whole, never matched against templates
    assert translate(CRAFTED, "ko") == CRAFTED
    assert translate(CRAFTED[:1999], "ko") == CRAFTED[:1999]
    spent = time.perf_counter() - started
    # Matched with .*? groups the 2,000 characters took seconds (the cube of the length).
    assert spent < 1.0, f"{spent:.2f} s to translate a 2,000-character line"


def test_a_crafted_device_is_refused_by_start_and_export_alike_in_a_few_words(engine, store, mnist_dir):
    config = TrainConfig(device=CRAFTED)
    with pytest.raises(ConfigError) as caught:
        engine.check_config(config)
    message = caught.value.public_message
    assert message.startswith("unknown device 'a on , , ,") and "(100,004 characters)" in message and len(message) < 150
    korean = translate(message, "ko")
    assert korean.startswith("알 수 없는 장치") and len(korean) < 150

    trainer = Trainer(engine, store, data_dir=mnist_dir)
    with pytest.raises(UserError) as by_start:
        trainer.check(config)
    with pytest.raises(UserError) as by_export:
        Exporter(engine, store).export("alice", config)
    assert by_start.value.message == by_export.value.message == message
    assert not list(store.get("alice").folder().glob("*.py")), "a script was written for a refused run"
    # the device is a name, not a machine: a script for a GPU may be exported on a CPU server
    assert "DEVICE = 'cuda:1'" in Exporter(engine, store).export("alice", TrainConfig(device=" CUDA:1 ")).path.read_text()
    for bad in ("auto:0", "cuda:x", "cuda:12345", "tpu", "cpu; rm -rf /"):
        with pytest.raises(ConfigError, match="unknown device"):
            engine.check_config(TrainConfig(device=bad))


@pytest.mark.parametrize("markup", MARKUP)
def test_a_links_markup_reaches_the_toast_as_text(engine, markup):
    note = form_from_query(engine, {"model": markup, "epochs": markup}).note()
    shown = toast(note)
    assert "<img" not in shown and "<a " not in shown and "&lt;" in shown
    assert toast("a & b <b>") == "a &amp; b &lt;b&gt;"
    assert len(toast("<" * 10_000)) < 2000 * 4 + 10  # cut before it is escaped


def test_formula_cells_are_neutralised_in_the_runs_table_and_csv():
    assert [cell(v) for v in ("=HYPERLINK(\"//x\",\"y\")", "+1+1", "@SUM(1+1)", "-2+3", "\t=1")] == [
        "'=HYPERLINK(\"//x\",\"y\")", "'+1+1", "'@SUM(1+1)", "'-2+3", "'\t=1"
    ]
    assert [cell(v) for v in ("-0.5", "+3", "-1,000", -2.0, "mnist", "")] == ["-0.5", "+3", "-1,000", -2.0, "mnist", ""]
    spec = {
        "dataset": {"name": "=HYPERLINK(\"https://attacker.example\",\"mnist\")"},
        "model": {"name": "+1+1"},
        "optimizer": {"name": "@SUM(1+1)", "params": {"lr": -0.5}},
        "run": {"schedule": "-1+cmd|' /C calc'!A0", "batch_size": "=1" * 1000, "epochs": 1},
    }
    row = RunRecord(Curves(), number=2, kind="uploaded", spec=spec, outcome="uploaded").row(current=None)
    texts = [value for value in row if isinstance(value, str) and value]
    assert not [t for t in texts if t[:1] in "=+@" or (t[:1] == "-" and t != "-0.5")], row
    assert "-0.5" in row and all(len(t) <= 41 for t in texts)
    for fields in csv.reader(io.StringIO(Curves().to_csv())):
        assert not any(f[:1] in "=+@" for f in fields)


def test_presets_answer_junk_briefly_and_in_korean(engine):
    with pytest.raises(UserError) as caught:
        preset_note(engine, "x" * 400_000, {}, {}, {})
    assert len(caught.value.message) < 300 and "(400,000 characters)" in caught.value.message
    assert translate(caught.value.message, "ko").startswith("'xxxx")
    choices = {"dataset": "mnist", "model": "y" * 400_000, "optimizer": "sgd", "loss": "nll"}
    note, edited = preset_note(engine, "quick", choices, {}, {"batch_size": "z" * 400_000})
    assert edited and len(note) < 400, note[:500]
    assert translate(note, "ko").startswith("수정됨: ")


def test_outputs_by_component_are_translated_but_not_the_users_values():
    import gradio as gr

    with gr.Blocks():
        menu, status, field = gr.Dropdown(), gr.Markdown(), gr.Textbox()
    summary = "The defaults: a small CNN, SGD with Nesterov momentum and a one-cycle schedule; about 99% on MNIST after one epoch."
    out = translate_outputs({menu: gr.Dropdown(label="Preset (edited)", info=summary), status: "Stop", field: "Stop"}, "ko")
    assert out[menu].label == "프리셋 (수정됨)" and out[menu].info.startswith("기본 설정")
    assert out[status] == "중지" and out[field] == "Stop"
