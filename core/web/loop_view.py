"""The Train tab's loop view and Step's report, as HTML.

:func:`loop_html` shows the training loop of :func:`trainpad.engine.loop_source.loop_lines`,
each line beside what it did in the run's last step (from its
:class:`~trainpad.engine.stepping.LoopTrace`); :func:`step_html` shows one step taken alone
(a :class:`~trainpad.engine.stepping.StepDetail`): the batch's pictures with their labels,
the model's probabilities for a few of them, the loss before and after on that batch, and
each layer's gradient norm and update size as bars.
"""

from __future__ import annotations

import html
import io
import keyword
import tokenize
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from trainpad.web.i18n import tr, translate
from trainpad.web.inside_html import png_uri

if TYPE_CHECKING:
    from trainpad.engine.loop_source import LoopLine
    from trainpad.engine.stepping import LoopTrace, StepDetail

#: Pictures of the batch shown, and of those, how many get their probabilities.
PICTURES = 16
PROBABILITIES = 4


def _highlight(code: str) -> str:
    """``code`` (one line, maybe a fragment) as HTML with keywords, numbers, strings and comments marked."""
    out, last = [], 0
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return html.escape(code)
    for token in tokens:
        if token.start[0] != 1:
            continue
        start, end = token.start[1], token.end[1] if token.end[0] == 1 else len(code)
        kind = None
        if token.type == tokenize.NAME and keyword.iskeyword(token.string):
            kind = "kw"
        elif token.type == tokenize.NUMBER or (token.type == tokenize.NAME and token.string in ("True", "False", "None")):
            kind = "num"
        elif token.type == tokenize.STRING:
            kind = "str"
        elif token.type == tokenize.COMMENT:
            kind = "com"
        if kind is None or start < last:
            continue
        out.append(html.escape(code[last:start]))
        out.append(f'<span class="{kind}">{html.escape(code[start:end])}</span>')
        last = end
    out.append(html.escape(code[last:]))
    return "".join(out)


def _comment_translated(code: str) -> str:
    """A line of the loop with its trailing comment (``  # ...``) in the current language."""
    if code.lstrip().startswith("# "):  # a line that is only a comment
        indent = code[: len(code) - len(code.lstrip())]
        return f"{indent}# {translate(code.lstrip()[2:])}"
    body, mark, comment = code.partition("  # ")
    return f"{body}{mark}{translate(comment)}" if mark else code


def _shape(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def did(shows: str, trace: "LoopTrace | None", facts: dict[str, Any]) -> str:
    """What the line that ``shows`` this did, as text ("" when there is nothing to say yet)."""
    if shows in ("data", "loader", "model", "test", "epoch"):
        return str(facts.get(shows, ""))
    if trace is None:
        return ""
    steps = facts.get("steps")
    where = tr("step {step} of {steps}", step=f"{trace.step:,}", steps=f"{steps:,}") if steps else tr("step {step}", step=f"{trace.step:,}")
    shapes = f": x {_shape(trace.batch_shape)} {trace.dtype}, y {_shape(trace.label_shape)}"
    return {
        "batch": where + shapes,
        "device": tr("on {device}", device=trace.device),
        "output": tr("output {shape}", shape=_shape(trace.output_shape)),
        "loss": tr("loss {value}", value=f"{trace.loss:.4f}"),
        "grad": f"‖grad‖ {trace.grad_norm:.4g}",
        "lr": tr("lr {value}", value=f"{trace.lr:.4g}"),
        "next_lr": tr("next lr {value}", value=f"{facts['next_lr']:.4g}") if facts.get("next_lr") is not None else "",
    }.get(shows, "")


def loop_html(lines: Sequence["LoopLine"], trace: "LoopTrace | None" = None, facts: dict[str, Any] | None = None) -> str:
    """The loop, each line beside what it did in the last step.

    :param facts: what the run knows without a step: ``data`` ("60,000 samples"), ``loader``,
        ``model`` ("98,442 parameters"), ``epoch``, ``steps`` (the run's total), ``next_lr``, ``test``.
    """
    facts = facts or {}
    rows = []
    for line in lines:
        text = did(line.shows, trace, facts) if line.shows else ""
        live = " live" if text and trace is not None and line.shows not in ("data", "loader", "model", "test", "epoch") else ""
        data = f' data-shows="{line.shows}"' if line.shows else ""
        source = _comment_translated(line.code) + (f"  # {translate(line.comment)}" if line.comment else "")
        indent = len(source) - len(source.lstrip(" "))
        code = _highlight(source.lstrip(" ")) or "&nbsp;"
        hang = f' style="--indent:{indent}ch"' if indent else ""  # a long line wraps under its own start, 4 further in
        rows.append(f'<div class="ln{live}"{data}{hang}><span class="c">{code}</span><span class="d">{html.escape(text)}</span></div>')
    return '<div class="tp-loop" id="tp-loop-code">' + "".join(rows) + "</div>"


def _picture(image: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """A normalised ``(C, H, W)`` picture back to ``uint8`` grey or RGB."""
    m = np.asarray(mean, dtype=np.float32).reshape(-1, 1, 1)
    s = np.asarray(std, dtype=np.float32).reshape(-1, 1, 1)
    raw = np.clip((image * s + m) * 255.0, 0, 255).astype(np.uint8)
    return raw[0] if raw.shape[0] == 1 else np.transpose(raw, (1, 2, 0))


def step_html(detail: "StepDetail", class_names: Sequence[str], *, mean: Sequence[float] = (0.0,), std: Sequence[float] = (1.0,)) -> str:
    """One step taken alone: the batch, probabilities for a few, the loss before and after, the layers' bars."""
    trace = detail.trace
    names = [html.escape(str(n)) for n in class_names]
    images = detail.images.numpy()
    pictures = "".join(
        f'<figure><img src="{png_uri(_picture(images[i], mean, std))}" alt="label {names[label]}"><figcaption>{names[label]}</figcaption></figure>'
        for i, label in enumerate(detail.labels[:PICTURES])
    )
    probs = detail.probabilities.numpy()
    blocks = []
    for i, label in enumerate(detail.labels[:PROBABILITIES]):
        order = np.argsort(-probs[i])[:3]
        rows = "".join(
            f'<div class="row"><span>{names[k]}</span><div class="tp-bar2"><div class="{"true" if k == label else ""}" '
            f'style="width:{probs[i][k] * 100:.1f}%"></div></div><span>{probs[i][k]:.1%}</span></div>'
            for k in order
        )
        blocks.append(f"<div><small>{tr('picture {number}, labelled {label}', number=i + 1, label=f'<b>{names[label]}</b>')}</small>{rows}</div>")
    top_grad = max((layer.grad_norm for layer in detail.layers), default=0.0) or 1.0
    top_update = max((layer.update for layer in detail.layers), default=0.0) or 1.0
    layers = "".join(
        f'<div class="row" data-layer="{html.escape(layer.name)}" title="{html.escape(layer.kind)}: ‖grad‖ {layer.grad_norm:.4g}, '
        f'‖Δw‖ {layer.update:.4g} ({layer.relative_update:.2%} of ‖w‖ {layer.weight_norm:.4g})">'
        f"<span>{html.escape(layer.name)}</span>"
        f'<div class="tp-bar2"><div class="grad" style="width:{100 * layer.grad_norm / top_grad:.1f}%"></div></div>'
        f'<div class="tp-bar2"><div style="width:{100 * layer.update / top_update:.1f}%"></div></div></div>'
        for layer in detail.layers
    )
    change = detail.loss_after - detail.loss_before
    moved = tr("down {change}", change=f"{abs(change):.4f}") if change < 0 else tr("up {change}", change=f"{abs(change):.4f}")
    loss = tr(
        "Step {step}: loss on this batch {before} before the update, {after} after ({moved}); learning rate {lr}, ‖grad‖ {grad}",
        step=f"{trace.step:,}", before=f'<b data-tp="loss-before">{detail.loss_before:.4f}</b>',
        after=f'<b data-tp="loss-after">{detail.loss_after:.4f}</b>', moved=moved, lr=f"{trace.lr:.4g}", grad=f"{trace.grad_norm:.4g}",
    )  # fmt: skip
    batch = tr("The batch: {count} pictures, the first {shown} with their labels", count=f"{trace.batch_shape[0]:,}", shown=min(PICTURES, len(detail.labels)))
    made = tr("What the model made of the first {shown} (green: the label), before the update", shown=min(PROBABILITIES, len(detail.labels)))
    return (
        '<div class="tp-step" id="tp-step-report">'
        f'<div class="tp-loss">{loss}</div>'
        f'<div><h4>{batch}</h4><div class="tp-batch">{pictures}</div></div>'
        f'<div><h4>{made}</h4><div class="tp-probs">{"".join(blocks)}</div></div>'
        f"<div><h4>{tr('Each layer: the gradient’s norm (orange) and the update’s size ‖Δw‖ (blue), each scaled to its largest')}</h4>"
        f'<div class="tp-layers">{layers}</div></div>'
        "</div>"
    )


def parameter_count(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())


def run_facts(run: Any) -> dict[str, Any]:
    """What a session's run (:class:`~trainpad.web.session_run.SessionRun`) tells the loop
    view without a step: what its job said the run is, its last step and epoch."""
    started, trace = run.facts, run.trace
    facts: dict[str, Any] = {
        "data": tr("{count} samples", count=f"{started.train_samples:,}"),
        "loader": tr("{count} batches an epoch", count=f"{started.steps_per_epoch:,}"),
        "model": tr("{count} parameters, on {device}", count=f"{started.parameters:,}", device=started.device),
        "steps": started.total_steps,
    }
    if trace is not None:
        facts["epoch"] = tr("epoch {epoch} of {epochs}", epoch=trace.epoch, epochs=started.config.epochs)
        facts["next_lr"] = run.last_step.lr if run.last_step is not None else started.lr
    last = run.last_epoch
    if last is not None and last.test_accuracy is not None:
        facts["test"] = tr("epoch {epoch}: test accuracy {accuracy}", epoch=last.epoch, accuracy=f"{last.test_accuracy:.2%}")
    return facts


__all__ = ["loop_html", "step_html", "did", "parameter_count", "run_facts"]
