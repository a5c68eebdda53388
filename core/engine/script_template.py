"""The skeleton of the script that ``trainpad export`` writes: all of it but the run's
settings' values and its components.

:mod:`trainpad.engine.export` reads this file as text (it imports nothing that needs torch).
It keeps the imports, fills the run's values into the settings under "the run's settings",
writes the run's components (``load_split``, ``build_model``, ``build_optimizer``,
``build_loss``) in place of the section "the components", and carries every other section
as it is.  So the exported script's loop is this file's, and this file is real Python:
the tests import it and run its functions on a tiny dataset held in memory.

trainpad trains with the same learning-rate schedule and divergence guard:
:mod:`trainpad.engine.training` imports :func:`make_scheduler` and :func:`diverged` from
here, and the loop view (:mod:`trainpad.engine.loop_source`) shows :func:`train_step`'s
lines; trainpad's own InMemoryDataset moves its images with :func:`random_shift`.  Like
the script, this module imports only torch and the standard library.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler, Subset

# -- the run's settings -----------------------------------------------------------------

DATASET, MODEL, OPTIMIZER, LOSS = "mnist", "mnist-cnn", "sgd", "nll"
SEED = 1  # the initial weights and dropout (torch.manual_seed), and the order of the samples
EPOCHS = 1
BATCH_SIZE = 128
SCHEDULE = "onecycle"  # the learning rate over the run: onecycle, cosine or constant (see make_scheduler)
TRAIN_SAMPLES = 0  # train on the first N samples only (0: all)
TEST_SAMPLES = 0  # evaluate on the first N test samples only (0: all)
DEVICE = "auto"  # auto: CUDA, else MPS, else the CPU
DATA_DIR = "data"
LOG_EVERY = 50

CLASS_NAMES = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]
INPUT_SHAPE = (1, 28, 28)  # channels, height, width
DATA_MEAN, DATA_STD = (0.1307,), (0.3081,)  # of the training pixels, scaled to 0..1


# -- the data ---------------------------------------------------------------------------


def random_shift(images: torch.Tensor, shift: int) -> torch.Tensor:
    """Each image of a (N, C, H, W) batch moved by its own random offset of up to ``shift``
    pixels along each axis (what moves out is lost, what comes in is 0): augmentation.

    The offsets come from torch's global generator, so a seeded run repeats exactly.
    """
    n, _, height, width = images.shape
    padded = torch.nn.functional.pad(images, (shift, shift, shift, shift))
    dy, dx = torch.randint(0, 2 * shift + 1, (2, n, 1))
    rows = (dy + torch.arange(height)).view(n, height, 1)
    cols = (dx + torch.arange(width)).view(n, 1, width)
    # (N, H, W, C) out of the padded batch, one gather for the whole batch
    moved = padded.permute(0, 2, 3, 1)[torch.arange(n).view(n, 1, 1), rows, cols]
    return moved.permute(0, 3, 1, 2)


class InMemoryDataset(Dataset):
    """A split held in memory as uint8 pixels, read a whole batch at a time.

    Each batch is scaled to 0..1 and normalised with the mean and standard deviation of the
    training pixels, as transforms.ToTensor() and transforms.Normalize() would do per image;
    with ``shift``, each image is first moved at random by up to that many pixels.
    """

    def __init__(self, images: torch.Tensor, targets: torch.Tensor, *, mean, std, shift: int = 0) -> None:
        if images.dim() == 3:
            images = images.unsqueeze(1)  # (N, H, W) -> (N, 1, H, W)
        self.images, self.targets = images.contiguous(), targets.long()
        channels = images.shape[1]
        std_t = torch.tensor(std, dtype=torch.float32).expand(channels)
        mean_t = torch.tensor(mean, dtype=torch.float32).expand(channels)
        self.scale = (1.0 / (255.0 * std_t)).view(1, -1, 1, 1)  # x / 255, then (x - mean) / std, in one step
        self.offset = (-mean_t / std_t).view(1, -1, 1, 1)
        self.shift = shift

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, indices):
        indices = torch.as_tensor(indices)  # a list of indices: the whole batch
        x = self.images.index_select(0, indices)
        if self.shift:
            x = random_shift(x, self.shift)
        return x.to(torch.float32).mul_(self.scale).add_(self.offset), self.targets.index_select(0, indices)


# -- the batches ------------------------------------------------------------------------


def first(dataset: Dataset, count: int) -> Dataset:
    """The first ``count`` samples of ``dataset`` (all of them for 0)."""
    if not count or count >= len(dataset):
        return dataset
    if isinstance(dataset, InMemoryDataset):
        part = InMemoryDataset.__new__(InMemoryDataset)
        part.__dict__.update(dataset.__dict__)
        part.images, part.targets = dataset.images[:count], dataset.targets[:count]
        return part
    return Subset(dataset, range(count))


def make_loader(dataset: Dataset, *, batch_size: int, shuffle: bool, generator=None, pin_memory=False) -> DataLoader:
    """Batches of (images, labels): shuffled by ``generator`` for training, in order for testing.

    An InMemoryDataset is read a batch at a time (the sampler hands it lists of indices).
    The test loader gets a generator of its own: each pass over a DataLoader draws a number
    from its generator (else from torch's global one), and evaluating must not change the
    dropout of the epochs that follow.
    """
    sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
    own = None if shuffle else torch.Generator()
    if isinstance(dataset, InMemoryDataset):
        batches = BatchSampler(sampler, batch_size, drop_last=False)
        return DataLoader(dataset, sampler=batches, batch_size=None, pin_memory=pin_memory, generator=own)
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, pin_memory=pin_memory, generator=own)


# -- the components ---------------------------------------------------------------------
# The export writes the run's own in place of this section: each component's code from its
# plugin, and the function that builds it with the run's hyperparameters.


def load_split(root: Path, *, train: bool) -> Dataset:
    """The training or test split: a Dataset of (normalised image, label) pairs."""
    raise NotImplementedError("the export writes the run's dataset here")


def build_model() -> torch.nn.Module:
    raise NotImplementedError("the export writes the run's model here")


def build_optimizer(parameters) -> torch.optim.Optimizer:
    raise NotImplementedError("the export writes the run's optimizer here")


def build_loss():
    raise NotImplementedError("the export writes the run's loss here")


# -- training ---------------------------------------------------------------------------

#: OneCycleLR's settings besides its peak (the optimizer's lr) and its length: the learning
#: rate climbs for the first quarter of the run, then falls; momentum is left as it is.
ONECYCLE = {"pct_start": 0.25, "cycle_momentum": False}
#: A loss this many times above what guessing uniformly would give: training diverged.
DIVERGENCE_FACTOR = 10.0


def make_scheduler(name: str, optimizer: torch.optim.Optimizer, total_steps: int):
    """A per-step learning-rate schedule; the optimizer's lr is its peak (``None``: it stays).

    ``onecycle``: up to the optimizer's lr in the first quarter of the run, then down
    (OneCycleLR; a run of fewer than 8 steps has no room for a warm-up and keeps its lr);
    ``cosine``: from the optimizer's lr down to 0 along half a cosine (CosineAnnealingLR);
    ``constant``: the optimizer's lr throughout.
    """
    if name == "onecycle" and total_steps >= 8:
        max_lr = [group["lr"] for group in optimizer.param_groups]
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=max_lr, total_steps=total_steps, **ONECYCLE)
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(total_steps, 1))
    return None


def diverged(loss: float, num_classes: int) -> bool:
    """Whether a batch's loss says training has diverged: NaN, infinite, or
    DIVERGENCE_FACTOR times what guessing uniformly among the classes gives."""
    return not math.isfinite(loss) or loss > DIVERGENCE_FACTOR * math.log(max(num_classes, 2))


def pick_device(name: str) -> torch.device:
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def train_step(model: torch.nn.Module, optimizer, scheduler, loss_fn, x, y, step: int) -> float:
    """Step ``step`` of the loop on the batch ``(x, y)``, the way PyTorch teaches it: the
    batch's loss before the update.  Training that diverged ends the script here (trainpad
    goes back to the last good weights instead)."""
    optimizer.zero_grad(set_to_none=True)
    output = model(x)
    loss = loss_fn(output, y)
    loss_value = loss.item()
    if diverged(loss_value, len(CLASS_NAMES)):
        raise SystemExit(f"training diverged at step {step}: the loss is {loss_value:.3g}; lower the learning rate")
    loss.backward()
    optimizer.step()
    if scheduler is not None:
        scheduler.step()
    return loss_value


def evaluate(model: torch.nn.Module, loader: DataLoader, loss_fn, device: torch.device) -> tuple[float, float]:
    """The model's mean loss and accuracy over ``loader``, in eval mode with autograd off."""
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    with torch.inference_mode():
        for x, y in loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            output = model(x)
            total_loss += float(loss_fn(output, y)) * len(y)
            correct += int((output.argmax(dim=1) == y).sum())
            count += len(y)
    return total_loss / max(count, 1), correct / max(count, 1)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add = parser.add_argument
    add("--data-dir", type=Path, default=Path(DATA_DIR), help="where the data is (default: %(default)s)")
    add("--device", default=DEVICE, help="auto, cpu, cuda or mps (default: %(default)s)")
    add("--epochs", type=int, default=EPOCHS, help="passes over the training data (default: %(default)s)")
    add("--steps", type=int, default=0, help="stop after this many steps, for a quick check (default: no limit)")
    add("--log-every", type=int, default=LOG_EVERY, help="print the loss every N steps (default: %(default)s)")
    add("--save", type=Path, default=None, help="save the trained weights (a state_dict) to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    device = pick_device(args.device)

    train_set = first(load_split(args.data_dir, train=True), TRAIN_SAMPLES)
    test_set = first(load_split(args.data_dir, train=False), TEST_SAMPLES)

    torch.manual_seed(SEED)  # the initial weights, then dropout
    generator = torch.Generator().manual_seed(SEED)  # the order of the training samples
    model = build_model().to(device)
    optimizer = build_optimizer(model.parameters())
    loss_fn = build_loss()
    pin = device.type == "cuda"
    train_loader = make_loader(train_set, batch_size=BATCH_SIZE, shuffle=True, generator=generator, pin_memory=pin)
    test_loader = make_loader(test_set, batch_size=1000, shuffle=False, pin_memory=pin)
    total_steps = len(train_loader) * args.epochs
    scheduler = make_scheduler(SCHEDULE, optimizer, total_steps)
    print(
        f"training {MODEL} on {DATASET} ({len(train_set):,} samples) with {OPTIMIZER} and {LOSS}: "
        f"{args.epochs} epoch(s) of {len(train_loader)} steps, batch {BATCH_SIZE}, device {device}",
        flush=True,
    )

    step = 0
    started = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        model.train()
        for x, y in train_loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            lr = optimizer.param_groups[0]["lr"]  # the learning rate this step uses
            step += 1
            loss_value = train_step(model, optimizer, scheduler, loss_fn, x, y, step)
            if step % args.log_every == 0 or step == total_steps:
                print(f"epoch {epoch} step {step}/{total_steps} loss {loss_value:.6f} lr {lr:.6g}", flush=True)
            if args.steps and step >= args.steps:
                break
        test_loss, test_accuracy = evaluate(model, test_loader, loss_fn, device)
        seconds = time.perf_counter() - started
        print(f"epoch {epoch}: test loss {test_loss:.4f}, test accuracy {test_accuracy:.2%} ({seconds:.1f} s)", flush=True)
        if args.steps and step >= args.steps:
            break
    if args.save is not None:
        torch.save(model.state_dict(), args.save)
        print(f"saved the weights to {args.save}")


if __name__ == "__main__":
    main()
