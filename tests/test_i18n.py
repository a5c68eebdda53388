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
    yield engine, app.build_app(engine)


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


def test_every_tr_text_in_the_code_is_in_the_catalog():
    """Text written with tr("...") in the web layer and the tabs must have its Korean."""
    missing = []
    for path in [*sorted((ROOT / "core" / "web").glob("*.py")), *sorted((ROOT / "plugins").glob("*_tab.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "tr" and node.args:
                first = node.args[0]
                if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                    continue  # a variable: translated from what it holds
                if first.value not in KOREAN:
                    missing.append(f"{path.name}:{node.lineno}: {first.value!r}")
    assert missing == [], "\n".join(missing)


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


def test_templates_translate_what_the_server_wrote():
    assert translate("python train_x.py trains this run with torch and torchvision alone.", "ko") == (
        "python train_x.py 을 실행하면 torch와 torchvision만으로 이 실행을 학습합니다."
    )
    assert translate("✗ 7 (63%), truly 2", "ko") == "✗ 7 (63%), 정답은 2"
    assert translate("Start training", "en") == "Start training"
    assert translate("something the catalog does not know", "ko") == "something the catalog does not know"
    assert translate("Stop\nClear", "ko") == "중지\n지우기"
    # nested templates, and the one that fits best (not "lr {value}" for a whole sentence)
    # (a setting named as the runs table names it: lr is 학습률 there)
    assert translate("optimizer sgd: lr must be at most 10, got 99", "ko") == "옵티마이저 sgd: 학습률은(는) 10 이하여야 합니다. 받은 값: 99"
    assert translate("**Current model:** mnist-cnn on mnist, 3 epochs, 99.39% test accuracy (shipped)", "ko") == (
        "**현재 모델:** mnist로 학습한 mnist-cnn, 3 에포크, 테스트 정확도 99.39% (기본 제공)"
    )
    assert translate("11:51:48  stopped before training began", "ko") == "11:51:48  학습을 시작하기 전에 중지됨"
    assert translate("**Stopped** before the first step. Your current model is unchanged.", "ko") == "**중지됨** 첫 걸음 전에. 현재 모델은 그대로입니다."
    with speaking("ko"):
        assert tr("Start training") == "학습 시작"
        assert tr("{total} units", total=10) == "유닛 10개"
    assert tr("{total} units", total=10) == "10 units"
    outputs = translate_outputs(["Clear", {"3": 0.9}, ("img", "✓ 3 (99%)"), 5], "ko")
    assert outputs == ["지우기", {"3": 0.9}, ("img", "✓ 3 (99%)"), 5]


def _shape(node: ast.AST) -> str | None:
    """A string literal or f-string as a template shape (each value as ``{}``); None for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return re.sub(r"\{[^{}]*\}", "{}", node.value)
    if isinstance(node, ast.JoinedStr):
        return "".join(part.value if isinstance(part, ast.Constant) else "{}" for part in node.values)
    return None


#: Where the web layer hands text to a person: calls, and the status it sets.
MESSAGE_CALLS = {"UserError", "Error", "Info", "Warning", "say"}


def messages_in(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            candidates = node.args[:1] if name in MESSAGE_CALLS else []
            candidates += [kw.value for kw in node.keywords if kw.arg in ("idle_status", "title")]
        elif isinstance(node, ast.Assign) and any(getattr(t, "attr", None) == "status" for t in node.targets):
            candidates = [node.value]
        else:
            continue
        for candidate in candidates:
            shape = _shape(candidate)
            if shape and re.search(r"[A-Za-z]{2}", shape):
                found.append((node.lineno, shape))
    return found


def test_every_message_the_web_layer_writes_has_korean():
    """What a handler tells a person (UserError, gr.Info/Warning, the status, the log) must be
    in the catalog, as written or as a template of the same shape; this fails on a new one."""
    shapes = {re.sub(r"\{[^{}]*\}", "{}", english) for english in KOREAN}
    missing = []
    for path in [*sorted((ROOT / "core" / "web").glob("*.py")), *sorted((ROOT / "plugins").glob("*_tab.py"))]:
        if path.name.startswith("i18n"):
            continue
        for line, shape in messages_in(path):
            if shape not in shapes:
                missing.append(f"{path.name}:{line}: {shape!r}")
    assert missing == [], "add these (or a template of the same shape) to core/web/i18n_ko.py:\n" + "\n".join(missing)


@pytest.mark.parametrize("status", ["completed", "stopped", "diverged"])
@pytest.mark.parametrize("better, before, new", [(True, "", 0.9), (True, "shipped", 0.995), (False, "shipped", 0.5), (False, "run 2", None)])
def test_every_outcome_of_a_run_reads_in_korean(status, better, before, new):
    from types import SimpleNamespace

    from trainpad.web.plots import Curves
    from trainpad.web.runs import Comparison, RunRecord
    from trainpad.web.train_handler import outcome_status

    message = "training diverged at step 6: the loss is nan (learning rate 10). The last good weights are kept. Lower the learning rate (lr) and try again."
    end = SimpleNamespace(status=status, epochs_done=0.68, message=message)
    record = RunRecord(Curves(), number=3, model=SimpleNamespace(metrics={} if new is None else {"test_accuracy": new}))
    english = outcome_status(end, record, Comparison(better, new, 0.9939 if before else None), before)
    korean = translate(english, "ko")
    left = re.sub(r"\*\*|\blr\b|\bnan\b", "", korean)
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
    lines = {
        "before training: test loss 2.3043, accuracy 9.90% on 1,000 test samples, lr 0.1":
            "학습 전: 테스트 손실 2.3043, 정확도 9.90% (테스트 샘플 1,000개), 학습률 0.1",
        "at epoch 0.25 (step 1): test loss 2.2968, accuracy 9.80% on 1,000 test samples, lr 0.1":
            "에포크 0.25 지점 (스텝 1): 테스트 손실 2.2968, 정확도 9.80% (테스트 샘플 1,000개), 학습률 0.1",
        "completed: training finished (1 epoch in 0:10)": "완료: 학습을 마쳤습니다 (0:10 동안 1 에포크)",
        "stopped: stopped at step 37 of 9380; the model trained so far is kept (0.04 of an epoch in 0:03)":
            "중지됨: 9380걸음 중 37번째에서 멈췄습니다. 지금까지 학습한 모델을 남깁니다 (0:03 동안 0.04 에포크)",
        "kept beside the model in use (run 2)": "사용 중인 모델(실행 2) 옆에 보관함",
    }
    for english, korean in lines.items():
        assert translate(english, "ko") == korean
