"""The web app in English and Korean: every text the page is built with has a Korean one
(this test fails on a text added without it), templates translate what the server writes
later, and the browser's language picks.  Plugins' own texts stay as the plugins wrote them."""

from __future__ import annotations

import ast
import re
import string
import sys
from pathlib import Path

import pytest

from trainpad.testing import make_engine
from trainpad.web.i18n import KOREAN, i18n, key_of, language_of, localize, plugin_texts, shown_texts, speaking, tr, translate, translate_outputs

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "trainpad-demo-plugin"


@pytest.fixture(scope="module")
def built():
    """The app with the built-ins, the example plugin and the browser tests' plugin (their tabs are theirs)."""
    from trainpad.web import app

    sys.path.insert(0, str(EXAMPLE))
    sys.path.insert(0, str(ROOT / "tests" / "plugins"))
    import trainpad_demo_plugin
    import trainpad_test_extras

    engine = make_engine(trainpad_demo_plugin, trainpad_test_extras)
    demo = app.build_app(engine)
    SHOWN.update(text for _, _, text in shown_texts(demo, engine))  # before a test localizes it
    yield engine, demo


#: The texts the page is built with, as built.
SHOWN: set[str] = set()


def test_every_text_the_page_is_built_with_has_korean(built):
    engine, demo = built
    texts = [text for _, _, text in shown_texts(demo, engine)]
    assert "Start training" in texts and "Download as a script" in texts  # the scan sees the page
    missing = localize(demo, engine)
    assert missing == [], "add these to trainpad/web/i18n_ko.py (core/web/i18n_ko.py):\n" + "\n".join(missing)
    left = {text for _, _, text in shown_texts(demo, engine) if re.search(r"[A-Za-z]{2}", text)} - plugin_texts(engine)
    assert left == set(), "English left on the page after localize"


def test_plugin_texts_and_third_party_tabs_stay_as_written(built):
    import gradio as gr

    engine, demo = built
    described = [b for b in demo.blocks.values() if isinstance(b, gr.Dropdown) and isinstance(b.info, str) and "LeNet" in (b.info or "")]
    fashion = next(b for b in demo.blocks.values() if isinstance(b, gr.Button) and str(b.value) == "Show samples")
    assert fashion.value == "Show samples"  # the example plugin's tab
    assert all("__i18n__" not in str(b.info) for b in described)
    params = [b for b in demo.blocks.values() if isinstance(b, gr.Number) and b.label == "momentum"]
    assert params and all(isinstance(b.label, str) for b in params)


def test_the_catalog_is_consistent():
    # one entry a text (in a dict literal, a second one would silently replace the first)
    catalog = next(node for node in ast.walk(ast.parse((ROOT / "core" / "web" / "i18n_ko.py").read_text())) if isinstance(node, ast.Dict))
    keys = [key.value for key in catalog.keys if isinstance(key, ast.Constant)]
    assert len(keys) == len(set(keys)) == len(KOREAN), sorted({k for k in keys if keys.count(k) > 1})
    placeholders = string.Formatter()
    for english, korean in KOREAN.items():
        names_en = sorted(name for _, name, _, _ in placeholders.parse(english) if name)
        names_ko = sorted(name for _, name, _, _ in placeholders.parse(korean) if name)
        assert names_en == names_ko, f"{english!r}: {names_en} != {names_ko}"
        if re.search(r"[A-Za-z]{3}", re.sub(r"<[^>]+>|\{[^}]*\}|`[^`]*`|<code>.*?</code>", "", english)):
            assert re.search(r"[\uac00-\ud7a3]", korean) or english in NAMES_KEPT, f"no Korean for {english!r}"
    gr_i18n = i18n()
    assert gr_i18n.translations["ko"][key_of("Start training")] == "학습 시작"
    assert "." not in key_of("e.g. 0.1") and len({key_of(text) for text in KOREAN}) == len(KOREAN)


#: Names that read the same in Korean.
NAMES_KEPT = {"Fashion-MNIST", "Kuzushiji-MNIST"}


#: Where trainpad's code is: the catalog's keys are written there.
SOURCES = [*sorted((ROOT / "core").rglob("*.py")), *sorted((ROOT / "plugins").glob("*.py")), ROOT / "app.py"]
#: The calls whose first argument is a message's key.
KEYED_CALLS = {"msg", "tr", "Message"}


def _keys_written() -> tuple[dict[str, str], set[str]]:
    """The keys the code writes, as ``msg("...")`` and ``tr("...")``, with where; and every other
    string literal (a literal the page or a handler shows is looked up whole)."""
    keyed, literals = {}, set()
    for path in SOURCES:
        if path.name == "i18n_ko.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in KEYED_CALLS and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    keyed[first.value] = f"{path.relative_to(ROOT)}:{node.lineno}"
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                literals.add(node.value)
                if node.value.isidentifier():  # a Lab figure's name reads with spaces ("grad_norm")
                    literals.add(node.value.replace("_", " "))
                if "# " in node.value:  # a line of the loop view, its comment translated
                    literals.add(node.value.split("# ", 1)[1])
    return keyed, literals


def test_every_key_the_code_writes_has_korean():
    """A ``msg("...")`` or ``tr("...")`` whose key the catalog lacks would show English to a Korean visitor."""
    keyed, _ = _keys_written()
    assert len(keyed) > 200  # the scan sees the code
    missing = [f"{where}: {key!r}" for key, where in sorted(keyed.items(), key=lambda item: item[1]) if key not in KOREAN]
    assert missing == [], "add these to core/web/i18n_ko.py:\n" + "\n".join(missing)


def test_every_korean_entry_has_a_key_the_code_writes(built):
    """The other way: an entry that no code writes (a message reworded, a button removed) is dead."""
    keyed, literals = _keys_written()
    assert "Start training" in SHOWN
    dead = sorted(key for key in KOREAN if key not in keyed and key not in literals and key not in SHOWN)
    assert dead == [], "no code writes these: remove them from core/web/i18n_ko.py, or write them with msg():\n" + "\n".join(map(repr, dead))


def test_the_browsers_language_picks():
    class Request:
        def __init__(self, accept):
            self.headers = {"accept-language": accept}

    assert language_of(Request("ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7")) == "ko"
    assert language_of(Request("en-US,en;q=0.9,ko;q=0.8")) == "en"
    assert language_of(Request("fr-FR,fr;q=0.9")) == "en"
    assert language_of(Request("fr;q=1, ko;q=0.5")) == "ko"
    assert language_of(Request("ko;q=abc")) == "ko"
    assert language_of(None) == "en" and language_of(Request("x" * 100_000)) == "en"


def test_messages_render_by_key_in_the_readers_language():
    from trainpad.engine.message import Message, lines, msg

    written = msg("python {file} trains this run with torch and torchvision alone.", file="train_x.py")
    assert written == "python train_x.py trains this run with torch and torchvision alone."  # it is the English
    assert translate(written, "ko") == "python train_x.py 을 실행하면 torch와 torchvision만으로 이 실행을 학습합니다."
    assert translate(written, "en") == written and type(translate(written, "en")) is str
    # rendered English is never matched: the same text, written without its key, stays English
    assert translate(str(written), "ko") == str(written)
    # a literal is a key; what the catalog lacks is shown as it is
    assert translate("Start training", "ko") == "학습 시작"
    assert translate("something the catalog does not know", "ko") == "something the catalog does not know"
    assert translate(lines(msg("Stop"), "Clear"), "ko") == "중지\n지우기"
    # values that are messages render in turn; plain values (a client's text) never do
    refused = msg("{owner}: {message}", owner=msg("{kind} {name}", kind=msg("optimizer"), name="sgd"), message=msg("{name} must be at most {max}, got {value}", name=msg("lr"), max="10", value="99"))
    assert refused == "optimizer sgd: lr must be at most 10, got 99"
    assert translate(refused, "ko") == "옵티마이저 sgd: 학습률은(는) 10 이하여야 합니다. 받은 값: 99"
    assert translate(msg("Choose the {kind} from the list (got {value}).", kind="model", value="'Start training'"), "ko").endswith("(받은 값: 'Start training').")
    # a message keeps its key across processes (a run's job, ZeroGPU's worker pickle it)
    import pickle

    assert translate(pickle.loads(pickle.dumps(refused)), "ko") == translate(refused, "ko")
    assert isinstance(pickle.loads(pickle.dumps(lines(refused, "Clear"))), Message)
    with speaking("ko"):
        assert tr("Start training") == "학습 시작"
        assert tr("{total} units", total=10) == "유닛 10개"
    assert tr("{total} units", total=10) == "10 units"


def test_an_error_raised_with_a_message_keeps_its_key():
    from trainpad.engine.errors import ConfigError, TrainpadError
    from trainpad.engine.params import Param, ParamError, validate_params
    from trainpad.testing import make_engine
    from trainpad.web.messages import UserError, user_errors

    with pytest.raises(ParamError) as caught:
        validate_params([Param("lr", float, 0.1, min=0.0, max=10.0)], {"lr": 99}, owner=make_engine().registry.get("optimizer", "sgd").label)
    with pytest.raises(UserError) as shown:
        with user_errors("Training"):
            raise caught.value
    assert translate(shown.value.message, "ko") == "옵티마이저 sgd: 학습률은(는) 10 이하여야 합니다. 받은 값: 99"
    with pytest.raises(ConfigError) as preset:
        from trainpad.engine.presets import get_preset

        get_preset("nope")
    assert isinstance(preset.value, TrainpadError) and "프리셋" in translate(preset.value.public_message, "ko")


#: Where the web layer hands text to a person: calls, and the status it sets.
MESSAGE_CALLS = {"UserError", "Error", "Info", "Warning", "say"}


def test_the_web_layer_writes_its_messages_by_key():
    """What a handler tells a person (UserError, gr.Info/Warning, the status, the log) is a
    literal of the catalog or a ``msg()``: an f-string would reach a Korean visitor in English."""
    found = []
    for path in [*sorted((ROOT / "core" / "web").glob("*.py")), *sorted((ROOT / "plugins").glob("*_tab.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                candidates = node.args[:1] if name in MESSAGE_CALLS else []
            elif isinstance(node, ast.Assign) and any(getattr(t, "attr", None) in ("status", "note") for t in node.targets):
                candidates = [node.value]
            else:
                continue
            for candidate in candidates:
                if isinstance(candidate, ast.JoinedStr) and re.search(r"[A-Za-z]{2}", ast.unparse(candidate)):
                    found.append(f"{path.name}:{node.lineno}: an f-string")
                elif isinstance(candidate, ast.Constant) and isinstance(candidate.value, str) and re.search(r"[A-Za-z]{2}", candidate.value):
                    if candidate.value not in KOREAN:
                        found.append(f"{path.name}:{node.lineno}: {candidate.value!r} is not in the catalog")
    assert found == [], "write these with msg() and add their keys to core/web/i18n_ko.py:\n" + "\n".join(found)


@pytest.mark.parametrize("status", ["completed", "stopped", "diverged"])
@pytest.mark.parametrize("better, before, new", [(True, "", 0.9), (True, "shipped", 0.995), (False, "shipped", 0.5), (False, "run 2", None)])
def test_every_outcome_of_a_run_reads_in_korean(status, better, before, new):
    from types import SimpleNamespace

    from trainpad.web.plots import Curves
    from trainpad.web.runs import Comparison, RunRecord
    from trainpad.web.train_handler import outcome_status

    from trainpad.engine.message import msg

    message = msg(
        "training diverged at step {step}: the loss {what} (learning rate {lr}). The last good weights are kept. Lower the learning rate (lr) and try again.",
        step=6, what=msg("became NaN or infinite"), lr="10",
    )
    end = SimpleNamespace(status=status, epochs_done=0.68, message=message)
    record = RunRecord(Curves(), number=3, model=SimpleNamespace(metrics={} if new is None else {"test_accuracy": new}))
    before = {"": "", "shipped": msg("shipped"), "run 2": msg("run {number}", number=2)}[before]
    english = outcome_status(end, record, Comparison(better, new, 0.9939 if before else None), before)
    korean = translate(english, "ko")
    left = re.sub(r"\*\*|\blr\b|NaN", "", korean)
    assert not re.search(r"[A-Za-z]{3}", left), f"{english!r} -> {korean!r}"


def test_the_plots_legends_speak_the_visitors_language():
    from trainpad.web.plots import Curves, chart

    curves = Curves(epochs=1)
    with speaking("ko"):
        one = chart("loss", [(1, "run 1", curves)])
        two = chart("accuracy", [(1, "run 1", curves), (2, "run 2", curves)])
    assert set(one.colours) == {"학습", "테스트"} and set(one.frame["split"]) == {"학습", "테스트"}
    assert "run 1 학습" in two.colours and two.caption == "진한 선: 테스트, 옅은 선: 학습 (스텝마다)"
    assert set(chart("loss", [(1, "run 1", curves)]).colours) == {"train", "test"}  # English outside a Korean request


def test_the_logs_lines_read_in_korean():
    """Before (issue 22): the Log's test points and a run's end stayed English in Korean."""
    from trainpad.engine.events import SpotCheck, epochs_text
    from trainpad.engine.message import msg
    from trainpad.engine.event_text import spot_line

    def spot(step, epochs_done, loss, accuracy):
        return spot_line(SpotCheck(epoch=1, step=step, epochs_done=epochs_done, test_loss=loss, test_accuracy=accuracy, samples=1000, seconds=0.1, lr=0.1))

    stopped = msg("stopped at step {step} of {steps}; the model trained so far is kept", step=37, steps=9380)
    lines = {
        spot(0, 0.0, 2.3043, 0.099): "학습 전: 테스트 손실 2.3043, 정확도 9.90% (테스트 샘플 1,000개), 학습률 0.1",
        spot(1, 0.25, 2.2968, 0.098): "에포크 0.25 지점 (스텝 1): 테스트 손실 2.2968, 정확도 9.80% (테스트 샘플 1,000개), 학습률 0.1",
        msg("{status}: {message} ({epochs} in {elapsed})", status=msg("completed"), message=msg("training finished"), epochs=epochs_text(1), elapsed="0:10"):
            "완료: 학습을 마쳤습니다 (0:10 동안 1 에포크)",
        msg("{status}: {message} ({epochs} in {elapsed})", status=msg("stopped"), message=stopped, epochs=epochs_text(0.04), elapsed="0:03"):
            "중지됨: 9380걸음 중 37번째에서 멈췄습니다. 지금까지 학습한 모델을 남깁니다 (0:03 동안 0.04 에포크)",
        msg("kept beside the model in use ({model})", model=msg("run {number}", number=2)): "사용 중인 모델(실행 2) 옆에 보관함",
    }
    for english, korean in lines.items():
        assert translate(english, "ko") == korean
