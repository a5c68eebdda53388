"""The Lab's ``conv`` experiment: the first convolution of the session's model, on the learner's drawing.

A convolution slides a small grid of weights, a filter, over the picture.  At each position
it multiplies the pixels under the filter by the weights and sums the products (plus the
filter's bias): one number of the feature map.  The stride is how far it moves between two
positions; the padding is the border of zeros added around the picture first, so that the
filter can sit on its edges.  ``nn.Conv2d(1, 16, 3)`` has 16 such filters of 3x3 weights,
each making a feature map of its own.
"""

from __future__ import annotations

from trainpad import ConfigError, LabArm, LabResult, Message, Param, code_of, hookimpl, msg

#: The most positions the filter may take (a 64x64 picture at stride 1): the loop by hand,
#: and the page that shows every number, stay small whatever model a session has.
MAX_POSITIONS = 4096


def with_conv2d(picture, weight, bias, stride, padding):
    import torch.nn.functional as F

    return F.conv2d(picture[None], weight[None], bias[None], stride=stride, padding=padding)[0, 0]


def by_hand(picture, weight, bias, stride, padding):
    import torch
    import torch.nn.functional as F

    padded = F.pad(picture, (padding, padding, padding, padding))  # a border of zeros
    size = weight.shape[-1]
    rows = (padded.shape[1] - size) // stride + 1
    cols = (padded.shape[2] - size) // stride + 1
    feature_map = torch.zeros(rows, cols)
    for row in range(rows):
        for col in range(cols):
            top, left = row * stride, col * stride
            patch = padded[:, top : top + size, left : left + size]
            feature_map[row, col] = (patch * weight).sum() + bias  # multiply, then sum
    return feature_map


def rounded(tensor, digits=4):
    """A tensor as nested lists of floats, rounded (for --json and the page)."""
    return [[round(float(v), digits) for v in row] for row in tensor.tolist()]


def conv(lab, *, filter=0, stride=1, padding=1, position=0):
    """One filter of the model's first convolution slid over the picture: the multiply-and-sum at one position, and the feature map."""
    import torch
    import torch.nn.functional as F

    layer = lab.conv
    if filter >= layer.weight.shape[0]:
        raise ConfigError(msg(
            "the first convolution has {count} filters: choose one from 0 to {last}",
            count=layer.weight.shape[0], last=layer.weight.shape[0] - 1,
        ))
    weight = layer.weight[filter]
    bias = layer.bias[filter] if layer.bias is not None else torch.zeros(())
    size = weight.shape[-1]
    picture = lab.picture
    padded = F.pad(picture, (padding, padding, padding, padding))
    if padded.shape[1] < size or padded.shape[2] < size:
        raise ConfigError(msg("the {size}x{size} filter does not fit in the picture with padding {padding}", size=size, padding=padding))
    positions = ((padded.shape[1] - size) // stride + 1) * ((padded.shape[2] - size) // stride + 1)
    if positions > MAX_POSITIONS:
        raise ConfigError(
            msg(
                "the filter would take {positions} positions on this {height}x{width} picture, and this view shows at most {most}: choose a "
                "larger stride",
                positions=f"{positions:,}", height=picture.shape[1], width=picture.shape[2], most=f"{MAX_POSITIONS:,}",
            )
        )
    maps = []
    for version, (name, label, compute) in enumerate((("conv2d", "F.conv2d", with_conv2d), ("by-hand", "by hand", by_hand))):
        feature_map = compute(picture, weight, bias, stride, padding)
        maps.append(feature_map)
    rows, cols = maps[0].shape
    position = min(position, rows * cols - 1)
    row, col = divmod(position, cols)
    top, left = row * stride, col * stride
    patch = padded[:, top : top + size, left : left + size]
    products = patch * weight
    value = float(maps[0][row, col])
    arms = tuple(
        LabArm(name, label, {"value_at_position": float(m[row, col])}, version=version)
        for version, (name, label, m) in enumerate((("conv2d", "F.conv2d", maps[0]), ("by-hand", "by hand", maps[1])))
    )
    figures = {
        "layer": layer.name, "filters": int(layer.weight.shape[0]), "in_channels": int(layer.weight.shape[1]), "filter": filter,
        "kernel": size, "stride": stride, "padding": padding, "model_stride": list(layer.stride), "model_padding": list(layer.padding),
        "input_height": int(picture.shape[1]), "input_width": int(picture.shape[2]),
        "output_height": rows, "output_width": cols, "positions": rows * cols, "position": position, "row": row, "col": col,
        "top": top, "left": left, "sum_of_products": float(products.sum()), "bias": float(bias), "value": value,
        "max_difference": float((maps[0] - maps[1]).abs().max()),
        "weights": rounded(weight[0]), "patch": rounded(patch[0]), "products": rounded(products[0]),
        "input": rounded(padded[0], 3), "feature_map": rounded(maps[0]),
    }  # fmt: skip
    lines = [
        msg(
            "Filter {filter} lays its {size}x{size} weights on the picture at row {row}, column {col} (stride {stride}, padding {padding}) and "
            "multiplies the pixels under them: the products sum to {sum}.",
            filter=filter, size=size, row=row, col=col, stride=stride, padding=padding, sum=f"{figures['sum_of_products']:.3f}",
        ),
        msg("With its bias of {bias} that makes {value}, the feature map's value there.", bias=f"{figures['bias']:.3f}", value=f"{value:.3f}")
        if layer.bias is not None else msg("This convolution has no bias: {value} is the feature map's value there.", value=f"{value:.3f}"),
        msg(
            "Slid over all {positions} positions, the filter makes a {rows}x{cols} feature map; done by hand it is F.conv2d's to within "
            "{difference}.",
            positions=rows * cols, rows=rows, cols=cols, difference=f"{figures['max_difference']:.1g}",
        ),
    ]
    if figures["in_channels"] > 1:
        lines.insert(1, msg("The sum runs over all {count} input channels; the page shows the first.", count=figures['in_channels']))
    finding = Message.joined("\n", lines)
    yield LabResult(arms, finding, figures)


@hookimpl
def register_experiments(register):
    register(
        "conv",
        conv,
        title="nn.Conv2d(in_channels, out_channels, kernel_size)",
        about="A convolution slides small grids of weights, its filters, over the picture: at each position it "
        "multiplies the pixels under the filter by the weights and sums them. The stride is how far it moves; "
        "the padding, the border of zeros around the picture.",
        versions=[("F.conv2d", code_of(with_conv2d)), ("by hand: multiply and sum", code_of(by_hand))],
        needs="picture",
        params=[
            Param("filter", int, 0, min=0, max=1023, help="which filter (output channel) of the first convolution"),
            Param("stride", int, 1, min=1, max=4, help="how far the filter moves between two positions"),
            Param("padding", int, 1, min=0, max=3, help="the border of zeros around the picture"),
            Param("position", int, 0, min=0, max=100_000, help="where the filter is: positions counted row by row from 0"),
        ],
    )
