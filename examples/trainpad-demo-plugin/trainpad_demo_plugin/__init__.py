"""trainpad's example plugin: a dataset made in code, an optimizer and a loss written from scratch, a tab.

Installed, it is the plugin ``demo`` (see ``[project.entry-points.trainpad]`` in
``pyproject.toml``).  Each ``@hookimpl`` function below is called once, when trainpad
starts, with a ``register`` function; each component it registers then appears in
``trainpad plugins``, in the ``trainpad train`` flags and in the web app's dropdowns.

What it shows that trainpad's built-in plugins (datasets from torchvision, optimizers
and losses from torch) do not:

- ``shapes``: a dataset drawn by code, no files to download, with hyperparameters of
  its own; its pictures are pen strokes, so the Predict tab's sketch pad suits it;
- ``lion``: an optimizer that is not in torch, written as a ``torch.optim.Optimizer``;
- ``focal``: a loss written out in tensor operations;
- the "Shapes" tab: a gallery of the dataset, built with Gradio.

Heavy imports (torch, Gradio) happen inside the factories, so that loading the
plugin costs nothing until a component is used.  Each factory holds all its code, so
that it can be read (and copied into a plain PyTorch script) on its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from trainpad import Param, hookimpl

if TYPE_CHECKING:
    import torch

    from trainpad import Engine

# -- dataset: shapes ----------------------------------------------------------------

SHAPES = ["circle", "triangle", "square", "cross"]
#: Pixel mean and standard deviation of the training split (scaled to 0..1), for the defaults.
MEAN, STD = (0.1828,), (0.3048,)


def shapes(*, root: Path, train: bool, count: int = 6000, noise: float = 0.1) -> "torch.utils.data.Dataset":
    """Pen-drawn circles, triangles, squares and crosses, 28x28 grey, made in code (no files)."""
    import math

    import torch

    from trainpad import InMemoryDataset

    # The test split is a sixth of the training split's size, from another seed: never the same pictures.
    n = count if train else max(count // 6, len(SHAPES))
    rng = torch.Generator().manual_seed(0 if train else 1)

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, 1, 1, generator=rng)

    labels = (torch.arange(n) % len(SHAPES))[torch.randperm(n, generator=rng)]
    # Each shape is drawn around a centre near the middle, at a random size and angle.
    ys, xs = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    cy, cx = uniform(12.5, 14.5), uniform(12.5, 14.5)
    radius, angle = uniform(7.0, 10.0), uniform(-0.3, 0.3)
    pen = uniform(0.8, 1.6)  # half the stroke's width, in pixels

    def segment(ends: tuple[torch.Tensor, ...], i: torch.Tensor) -> torch.Tensor:
        """The distance from every pixel to the segment from (ay, ax) to (by, bx), for pictures ``i``."""
        ay, ax, by, bx = (end[i] for end in ends)
        dy, dx = by - ay, bx - ax
        t = (((ys - ay) * dy + (xs - ax) * dx) / (dy * dy + dx * dx)).clamp(0, 1)
        return torch.hypot(ys - ay - t * dy, xs - ax - t * dx)

    def corner(turn: float) -> tuple[torch.Tensor, torch.Tensor]:
        """The point at ``radius`` from the centre, ``turn`` radians clockwise from straight up."""
        return cy - radius * torch.cos(angle + turn), cx + radius * torch.sin(angle + turn)

    def polygon(corners: int, start: float, i: torch.Tensor) -> torch.Tensor:
        turns = [start + 2 * math.pi * k / corners for k in range(corners + 1)]
        return torch.stack([segment((*corner(a), *corner(b)), i) for a, b in zip(turns, turns[1:])]).amin(dim=0)

    distance = torch.empty(n, 28, 28)
    for label, draw in enumerate([
        lambda i: (torch.hypot(ys - cy[i], xs - cx[i]) - radius[i]).abs(),  # circle
        lambda i: polygon(3, 0.0, i),  # triangle, pointing up
        lambda i: polygon(4, math.pi / 4, i),  # square, sides level
        lambda i: torch.minimum(  # cross: the two diagonals of a square
            segment((*corner(-math.pi / 4), *corner(3 * math.pi / 4)), i),
            segment((*corner(math.pi / 4), *corner(-3 * math.pi / 4)), i),
        ),
    ]):
        chosen = labels == label
        distance[chosen] = draw(chosen)
    ink = (pen + 0.5 - distance).clamp(0, 1)  # an anti-aliased stroke
    ink = (ink + noise * torch.rand(n, 28, 28, generator=rng)).clamp(0, 1)
    return InMemoryDataset((ink * 255).round().to(torch.uint8), labels, mean=MEAN, std=STD)


@hookimpl
def register_datasets(register: Callable[..., None]) -> None:
    register(
        "shapes",
        shapes,
        class_names=SHAPES,
        input_shape=(1, 28, 28),
        mean=MEAN,
        std=STD,
        ink="centre",  # drawn strokes: prediction crops and centres a drawing, as for MNIST
        params=[
            Param("count", int, 6000, min=40, max=60000, help="training pictures (the test split has a sixth as many)"),
            Param("noise", float, 0.1, min=0.0, max=1.0, help="random speckle added to every pixel"),
        ],
    )


# -- optimizer: lion ----------------------------------------------------------------


def lion(
    parameters: "Iterable[torch.nn.Parameter]",
    *,
    lr: float = 1e-4,
    beta1: float = 0.9,
    beta2: float = 0.99,
    weight_decay: float = 0.0,
) -> "torch.optim.Optimizer":
    """Lion (Chen et al., 2023): steps of equal size in the direction of the gradient's sign."""
    import torch

    class Lion(torch.optim.Optimizer):
        """EvoLved Sign Momentum: ``w -= lr * (sign(b1*m + (1-b1)*g) + wd*w)``, then ``m = b2*m + (1-b2)*g``."""

        def __init__(self, params: Any, lr: float, betas: tuple[float, float], weight_decay: float) -> None:
            super().__init__(params, {"lr": lr, "betas": betas, "weight_decay": weight_decay})

        @torch.no_grad()
        def step(self, closure: Callable[[], Any] | None = None) -> Any:
            loss = None
            if closure is not None:
                with torch.enable_grad():
                    loss = closure()
            for group in self.param_groups:
                b1, b2 = group["betas"]
                for weight in group["params"]:
                    if weight.grad is None:
                        continue
                    momentum = self.state[weight].setdefault("momentum", torch.zeros_like(weight))
                    weight.mul_(1 - group["lr"] * group["weight_decay"])
                    weight.add_(torch.sign(momentum * b1 + weight.grad * (1 - b1)), alpha=-group["lr"])
                    momentum.mul_(b2).add_(weight.grad, alpha=1 - b2)
            return loss

    return Lion(parameters, lr=lr, betas=(beta1, beta2), weight_decay=weight_decay)


@hookimpl
def register_optimizers(register: Callable[..., None]) -> None:
    register(
        "lion",
        lion,
        params=[
            Param("lr", float, 1e-4, min=1e-7, max=0.1, help="learning rate: the size of every step (3-10x below Adam's)"),
            Param("beta1", float, 0.9, min=0.0, max=0.999, help="weight of the momentum in the step's direction"),
            Param("beta2", float, 0.99, min=0.0, max=0.9999, help="decay of the momentum"),
            Param("weight_decay", float, 0.0, min=0.0, max=10.0, help="decoupled weight decay (3-10x above AdamW's)"),
        ],
    )


# -- loss: focal ----------------------------------------------------------------------


def focal(*, gamma: float = 2.0) -> Callable[["torch.Tensor", "torch.Tensor"], "torch.Tensor"]:
    """Focal loss (Lin et al., 2017): cross-entropy that counts confident right answers less; takes logits."""

    def loss(logits: "torch.Tensor", target: "torch.Tensor") -> "torch.Tensor":
        log_p = logits.log_softmax(dim=1).gather(1, target.unsqueeze(1)).squeeze(1)  # log-probability of the right class
        return (-((1 - log_p.exp()) ** gamma) * log_p).mean()

    return loss


@hookimpl
def register_losses(register: Callable[..., None]) -> None:
    register(
        "focal",
        focal,
        expects="logits",
        params=[Param("gamma", float, 2.0, min=0.0, max=10.0, help="how much less confident right answers count (0: cross-entropy)")],
    )


# -- tab: a look at the data ----------------------------------------------------------


def shapes_tab(engine: "Engine") -> None:
    """The "Shapes" tab: a button that shows a few test pictures of each class."""
    import gradio as gr

    from trainpad import TrainpadError

    gr.Markdown("The `shapes` dataset, drawn by this plugin's code: a row of each class, as the models see them (28x28, grey).")
    button = gr.Button("Show samples")
    gallery = gr.Gallery(label="Shapes test pictures", columns=len(SHAPES), format="png")

    def show(per_class: int = 6) -> list[tuple[Any, str]]:
        try:
            data = engine.load_dataset("shapes", train=False)
        except TrainpadError as exc:
            raise gr.Error(str(exc)) from None
        return sample_images(data.images, data.targets, per_class)

    button.click(show, outputs=gallery)


def sample_images(images: "torch.Tensor", targets: "torch.Tensor", per_class: int) -> list[tuple[Any, str]]:
    """The first ``per_class`` images of each class, as ``(uint8 array, class name)`` pairs.

    They come a class at a time, so that each row of the gallery shows every class.
    """
    firsts = [(targets == label).nonzero().flatten()[:per_class].tolist() for label in range(len(SHAPES))]
    return [
        (images[indices[row], 0].numpy(), SHAPES[label])
        for row in range(per_class)
        for label, indices in enumerate(firsts)
        if row < len(indices)
    ]


@hookimpl
def register_tabs(register: Callable[..., None]) -> None:
    register("Shapes", shapes_tab, order=90)
