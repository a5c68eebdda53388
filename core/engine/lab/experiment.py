"""An experiment as the Lab shows it: its title, its versions of the code, the lines that differ.

A plugin registers an experiment with ``register(name, experiment, *, title, versions,
needs="data", samples=(4096, 1000), params=...)`` (the ``register_experiments`` hook);
:func:`check_meta` checks those keywords when it does, and :class:`Experiment` is what the
CLI and the web app read: the code of each version, side by side, with the lines where it
differs from the others marked.  Torch is not imported here.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from trainpad.engine.params import Param
    from trainpad.engine.registry import Component

#: What an experiment works on: samples of the session's dataset, or the learner's drawing
#: and the first convolution of the session's model.
NEEDS = ("data", "picture")
#: Training and test samples an experiment gets unless it asks for others.
DEFAULT_SAMPLES = (4096, 1000)
#: The most samples of each split an experiment may ask for (what a request may load).
MAX_SAMPLES = (20_000, 10_000)
#: The longest title, version label, version code and ``about``.
MAX_TITLE, MAX_LABEL, MAX_CODE, MAX_ABOUT = 80, 80, 4000, 800


def check_meta(meta: Mapping[str, Any]) -> dict[str, Any]:
    """The registration's keywords, checked and normalised.

    :raises ValueError: saying which keyword is wrong and how.
    """
    meta = dict(meta)
    title = meta.get("title")
    if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE:
        raise ValueError(f"an experiment needs title='...' (the line of the loop it is about, at most {MAX_TITLE} characters)")
    versions = meta.get("versions")
    if not isinstance(versions, (list, tuple)) or len(versions) < 2:
        raise ValueError("an experiment needs versions=[(label, code), (label, code), ...]: at least two versions of the code")
    checked = []
    for version in versions:
        if not (
            isinstance(version, (list, tuple)) and len(version) == 2
            and isinstance(version[0], str) and 0 < len(version[0]) <= MAX_LABEL
            and isinstance(version[1], str) and version[1].strip() and len(version[1]) <= MAX_CODE
        ):  # fmt: skip
            raise ValueError(
                f"each version is a (label, code) pair of strings: a label of at most {MAX_LABEL} characters and "
                f"the code, at most {MAX_CODE} (trainpad.code_of(function) gives a function's)"
            )
        checked.append((version[0], version[1]))
    meta["versions"] = tuple(checked)
    about = meta.setdefault("about", "")
    if not isinstance(about, str) or len(about) > MAX_ABOUT:
        raise ValueError(f"about='...' is a sentence or two on what the line does, at most {MAX_ABOUT} characters")
    needs = meta.setdefault("needs", "data")
    if needs not in NEEDS:
        raise ValueError(f"needs={needs!r} is not one of {', '.join(map(repr, NEEDS))}")
    samples = meta.setdefault("samples", DEFAULT_SAMPLES)
    if not (
        isinstance(samples, (list, tuple)) and len(samples) == 2
        and all(isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= cap for n, cap in zip(samples, MAX_SAMPLES))
    ):  # fmt: skip
        raise ValueError(f"samples=(train, test) takes two whole numbers, at most {MAX_SAMPLES[0]:,} and {MAX_SAMPLES[1]:,}")
    meta["samples"] = tuple(samples)
    return meta


@dataclass(frozen=True)
class Version:
    """One version of an experiment's code.

    :param changed: the lines (from 0) where it differs from the other versions.
    """

    label: str
    code: str
    changed: tuple[int, ...] = ()

    @property
    def lines(self) -> list[str]:
        return self.code.rstrip("\n").split("\n")


@dataclass(frozen=True)
class Experiment:
    """A registered experiment, as the Lab shows it (see :func:`experiment_of`)."""

    name: str
    title: str
    description: str
    about: str
    plugin: str
    needs: str
    samples: tuple[int, int]
    versions: tuple[Version, ...]
    params: tuple["Param", ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for ``trainpad lab --json``."""
        return {
            "name": self.name, "title": self.title, "description": self.description, "about": self.about, "plugin": self.plugin,
            "needs": self.needs, "samples": list(self.samples),
            "versions": [{"label": v.label, "code": v.code, "changed": list(v.changed)} for v in self.versions],
            "params": [p.to_dict() for p in self.params],
        }  # fmt: skip


def experiment_of(component: "Component") -> Experiment:
    """The :class:`Experiment` a registered component of kind ``experiment`` describes."""
    meta = component.meta
    codes = [code for _, code in meta["versions"]]
    return Experiment(
        name=component.name,
        title=meta["title"],
        description=component.description,
        about=meta["about"],
        plugin=component.plugin,
        needs=meta["needs"],
        samples=tuple(meta["samples"]),
        versions=tuple(Version(label, code, changed_lines(codes, i)) for i, (label, code) in enumerate(meta["versions"])),
        params=component.params,
    )


def changed_lines(codes: list[str], index: int) -> tuple[int, ...]:
    """The lines of ``codes[index]`` that another version does not have (indentation aside);
    none when it has no line in common with them (two ways of doing one thing, not one line changed)."""
    mine = [line.strip() for line in codes[index].rstrip("\n").split("\n")]
    changed: set[int] = set()
    for other_index, other in enumerate(codes):
        if other_index == index:
            continue
        theirs = [line.strip() for line in other.rstrip("\n").split("\n")]
        for tag, i1, i2, _, _ in difflib.SequenceMatcher(a=mine, b=theirs, autojunk=False).get_opcodes():
            if tag != "equal":
                changed.update(i for i in range(i1, i2) if mine[i])
    if changed >= {i for i, line in enumerate(mine) if line}:
        return ()
    return tuple(sorted(changed))


__all__ = ["NEEDS", "DEFAULT_SAMPLES", "MAX_SAMPLES", "Experiment", "Version", "check_meta", "experiment_of", "changed_lines"]
