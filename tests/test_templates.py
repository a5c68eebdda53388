"""The web app's HTML fragments come from templates with autoescape on (issue 24): every value
that reaches one (a checkpoint's class names, a layer's name, an experiment's label, a
plugin's description) arrives as text, whatever it holds; the HTML the app builds itself
(a chart, the catalog's own <code>) arrives as HTML; and the templates hold no words of
their own, so that every text they show is a key ``tests/test_i18n.py`` checks.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import jinja2
import numpy as np
import pytest

from trainpad.web import evaluate_html, inside_html, lab_html, plugin_listing
from trainpad.web.render import TEMPLATES, environment, render

#: A value made to run a script where it is put in as HTML.
HOSTILE = "<img src=x onerror=alert(1)>"
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


def shows_as_text(page: str) -> None:
    assert ESCAPED in page and "<img src=x" not in page, page[:2000]


def the_confusion_matrix_and_the_bars_escape_class_names(monkeypatch):
    names = [str(i) for i in range(9)] + [HOSTILE]
    matrix = np.eye(10, dtype=np.int64) * 50 + 1
    shows_as_text(evaluate_html.confusion_html(matrix, names))
    many = [f"class {i}" for i in range(evaluate_html.MATRIX_CLASSES)] + [HOSTILE]
    confused = np.ones((len(many), len(many)), dtype=np.int64)
    confused[-1, 0] = 9  # the most frequent confusion: the last class read as the first
    shows_as_text(evaluate_html.confusion_html(confused, many))
    assert '<td colspan="4">no mistakes</td>' in evaluate_html.confusion_html(np.eye(len(many), dtype=np.int64), many)
    shows_as_text(evaluate_html.per_class_html([0.5] * 10, names, totals=[10] * 10))


def the_look_inside_escapes_layer_and_class_names(monkeypatch):
    from trainpad.engine.inside import Inside, Layer

    rng = np.random.default_rng(0)
    seen = (rng.random((28, 28)) * 255).astype(np.uint8)
    conv = Layer(HOSTILE, "Conv2d 1→4, 3×3", maps=rng.standard_normal((4, 26, 26)).astype(np.float32), total=4)
    linear = Layer("fc", HOSTILE, units=rng.standard_normal(10).astype(np.float32), total=10)
    names = [HOSTILE] * 10
    page = inside_html.inside_html(Inside({}, seen, 0, rng.random((28, 28)).astype(np.float32), [conv], skipped=1), names)
    shows_as_text(page)
    assert page.count('data-tp="saliency"') == page.count('data-tp="maps"') == 1 and 'class="tp-inside-note"' in page
    shows_as_text(inside_html.inside_html(Inside({}, seen, 0, None, [linear]), names))
    assert "tp-units" in inside_html.inside_html(Inside({}, seen, 0, None, [linear]), names)
    assert "<p>This model has no layers to show.</p>" in inside_html.inside_html(Inside({}, seen, 0, None, []), names)
    shows_as_text(inside_html.inside_notice(HOSTILE))


def the_labs_pictures_escape_what_an_experiment_wrote_and_keep_their_own_svg(monkeypatch):
    version = SimpleNamespace(label=HOSTILE, lines=["a = 1", HOSTILE, ""], changed=(1,))
    code = lab_html.code_html(SimpleNamespace(versions=[version]))
    shows_as_text(code)
    assert f'<pre><code><span>a = 1</span><span class="tp-changed">{ESCAPED}</span><span> </span></code></pre>' in code  # no blank between lines
    arms = [SimpleNamespace(label=HOSTILE, curves={"loss": [2.0, 1.0, 0.5]}, figures={"note": HOSTILE, "accuracy": 0.5})]
    result = lab_html.result_html(SimpleNamespace(finding=HOSTILE, arms=arms))
    shows_as_text(result)
    assert result.count("<svg") == 1 and "&lt;svg" not in result and "<td>50.0%</td>" in result
    rng = np.random.default_rng(0)
    picture = rng.standard_normal((7, 7)).astype(np.float32)
    figures = dict(
        input=picture, weights=[[0.1] * 3] * 3, products=[[0.2] * 3] * 3, feature_map=rng.standard_normal((5, 5)).astype(np.float32),
        kernel=3, row=1, col=2, top=1, left=2, position=7, positions=25, filter=0, filters=4, layer=HOSTILE, stride=1, padding=0,
        bias=0.5, sum_of_products=1.8, value=2.3, patch=picture[1:4, 2:5].tolist(),
    )  # fmt: skip
    conv = lab_html.conv_html(figures)
    shows_as_text(conv)
    assert conv.count("<svg") == 2 and conv.count("<table>") == 3 and "+ bias 0.500 = <b>2.300</b>" in conv


def the_plugin_listing_escapes_what_plugins_say_of_themselves(monkeypatch):
    entry = {"name": HOSTILE, "builtin": False, "dist": HOSTILE, "version": HOSTILE, "status": "failed", "error": HOSTILE,
             "components": [{"kind": "model", "name": HOSTILE, "description": HOSTILE}], "tabs": [HOSTILE]}  # fmt: skip
    monkeypatch.setattr(plugin_listing, "plugin_listing", lambda engine: {"plugins": [entry], "failed": [HOSTILE], "components": 1})
    page = plugin_listing.listing_html(None)
    shows_as_text(page)
    assert page.count(ESCAPED) == 7 and "<code>pip install</code>" in page  # the catalog's sentence keeps its markup


def the_loop_note_escapes_its_reason(monkeypatch):
    shows_as_text(render("loop_note.html", note=HOSTILE))


#: Each renders its templates with hostile values and checks the page.
CASES = [
    the_confusion_matrix_and_the_bars_escape_class_names,
    the_look_inside_escapes_layer_and_class_names,
    the_labs_pictures_escape_what_an_experiment_wrote_and_keep_their_own_svg,
    the_plugin_listing_escapes_what_plugins_say_of_themselves,
    the_loop_note_escapes_its_reason,
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.__name__)
def test_values_reach_the_page_as_text(case, monkeypatch):
    case(monkeypatch)


def test_every_template_has_a_case(monkeypatch):
    """A template added without a case above fails here."""
    env, rendered = environment(), set()
    original = env.get_template

    def get_template(name, *args, **kwargs):
        rendered.add(name)
        return original(name, *args, **kwargs)

    monkeypatch.setattr(env, "get_template", get_template)
    for case in CASES:
        case(monkeypatch)
    assert rendered == {path.name for path in TEMPLATES.iterdir()}


def test_autoescape_is_on_and_a_missing_value_is_an_error():
    env = environment()
    assert env.autoescape is True and env.undefined is jinja2.StrictUndefined
    with pytest.raises(jinja2.UndefinedError):
        render("loop_note.html")


def test_templates_hold_no_words_of_their_own():
    """A word in a template would reach a Korean visitor in English: words come from Python, through ``tr``."""
    for path in sorted(TEMPLATES.iterdir()):
        text = re.sub(r"\{#.*?#\}|\{\{.*?\}\}|\{%.*?%\}", " ", path.read_text(), flags=re.S)
        text = re.sub(r"<[^>]*>|&[a-z]+;", " ", text)
        assert re.findall(r"[A-Za-z]{2,}", text) == [], path.name
