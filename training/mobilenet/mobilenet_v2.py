"""MobileNetV2 rebuilt from its quantised TFLite file as a float PyTorch network.

The network is built op by op from the file (tflite_reader.py): each CONV_2D and
DEPTHWISE_CONV_2D becomes an nn.Conv2d holding the dequantised weights (batch norm is already
folded into them), with TF's "SAME" padding (on a stride-2 convolution of an even-sized input, one
more row and column at the bottom and right than at the top and left: an nn.ZeroPad2d in front of
the convolution) and the fused ReLU6 as a clamp. The ops up to the tensor that the global average
pool reads are `blocks`, the rest (pool, 1x1 logits convolution, reshape, softmax) are `head`, so
that `features` and the classifier share their weights as ordinary parameters
(`blocks.N.conv.weight`, `head.N.conv.weight`) and both export to ONNX.

    model = load_mobilenet_v2("mobilenet_v2_1.0_224_quant.tflite")
    x = to_pixel_values(np.asarray(image.convert("RGB").resize((224, 224), Image.BILINEAR)))
    model.features(x)  # [1, 1280, 7, 7], after the last 1x1 convolution and its ReLU6
    model(x)           # [1, 1001] softmax scores, index 0 "background"

Activations are NCHW floats (stored channels-last, as the weights are: `.contiguous()` gives the
plain layout). The float path computes in float32 throughout and is the one to
use. With `fake_quant=True` every op's output is rounded and clamped to its tensor's uint8 grid
as the integer kernels do: op by op this gives the reference's uint8 values exactly, except for a
value that lies within float error of a rounding tie (check_ops.py); check.py compares both paths
end to end.
"""
import math

import numpy as np
import torch
from torch import nn

from tflite_reader import TFLiteError, read_tflite

# The uint8 model's input quantisation: real = (q - 128) / 128, RGB in [-1, 1).
INPUT_SCALE, INPUT_ZERO_POINT = 1 / 128, 128
# Fused activations as (min, max) clamps in real values.
CLAMPS = {"NONE": None, "RELU": (0.0, math.inf), "RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0)}


def fused_clamp(op):
    """The (min, max) clamp of the op's fused activation, None for none."""
    activation = op.options.get("activation", "NONE")
    if activation not in CLAMPS:
        raise TFLiteError(f"{op.op} with fused activation {activation} is not supported")
    return CLAMPS[activation]


def to_pixel_values(uint8_hwc):
    """RGB uint8 pixels, [H, W, 3] or [B, H, W, 3] (e.g. a 224x224 PIL image as a NumPy array), as
    the network's float input: [B, 3, H, W], (q - 128) / 128."""
    a = np.asarray(uint8_hwc)
    if a.dtype != np.uint8 or a.ndim not in (3, 4) or a.shape[-1] != 3:
        raise ValueError("Expected uint8 RGB pixels [H, W, 3] or [B, H, W, 3] "
                         f"but received {a.dtype} {list(a.shape)}")
    x = torch.from_numpy(a.reshape((-1,) + a.shape[-3:]).copy()).permute(0, 3, 1, 2).float()
    return (x - INPUT_ZERO_POINT) * INPUT_SCALE


def same_padding(size, kernel, stride, dilation):
    """TF's "SAME" padding of one spatial dimension: (before, after); the odd one goes after."""
    extent = (kernel - 1) * dilation + 1
    total = max((math.ceil(size / stride) - 1) * stride + extent - size, 0)
    return total // 2, total - total // 2


def round_to_grid(x, grid):
    """x rounded and clamped to a quantised tensor's values: grid = (scale, zero point, qmin, qmax)."""
    scale, zero_point, lo, hi = grid
    return (torch.clamp(torch.round(x / scale) + zero_point, lo, hi) - zero_point) * scale


class Op(nn.Module):
    """One TFLite op. It reads the activations `inputs` (tensor indices) from the running dict and
    writes `output`; `grid` (scale, zero point, qmin, qmax) rounds its output in fake-quant mode."""

    clamp = None  # a fused activation's (min, max), where the op has one

    def __init__(self, inputs, output, grid=None):
        super().__init__()
        self.inputs, self.output, self.grid = inputs, output, grid

    def extra_repr(self):
        return f"tensors {self.inputs} -> {self.output}" + (f", clamp {self.clamp}" if self.clamp else "")

    def fake_quant(self, x):
        return x if self.grid is None else round_to_grid(x, self.grid)


class Conv(Op):
    """CONV_2D or DEPTHWISE_CONV_2D (TFLite weights [O, H, W, I] and [1, H, W, C x multiplier]
    respectively), its bias (optional: input -1), its padding and its fused activation."""

    def __init__(self, op, tensors, grid):
        x, w = tensors[op.inputs[0]], tensors[op.inputs[1]]
        b = tensors[op.inputs[2]] if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
        super().__init__([op.inputs[0]], op.outputs[0], grid)
        o = op.options
        weight = torch.from_numpy(w.dequantize())
        depthwise = op.op == "DEPTHWISE_CONV_2D"
        weight = weight.permute(3, 0, 1, 2) if depthwise else weight.permute(0, 3, 1, 2)
        channels = x.shape[3]
        if not depthwise and weight.shape[1] != channels:
            raise TFLiteError(f"{op.op} weight {w.name!r} has {weight.shape[1]} input channels, its input {channels}")
        kh, kw = weight.shape[2:]
        if o["padding"] == "SAME":
            top, bottom = same_padding(x.shape[1], kh, o["stride_h"], o["dilation_h"])
            left, right = same_padding(x.shape[2], kw, o["stride_w"], o["dilation_w"])
        else:
            top = bottom = left = right = 0
        symmetric = top == bottom and left == right
        self.pad = None if symmetric else nn.ZeroPad2d((left, right, top, bottom))
        self.conv = nn.Conv2d(channels, weight.shape[0], (kh, kw), (o["stride_h"], o["stride_w"]),
                              padding=(top, left) if symmetric else 0,
                              dilation=(o["dilation_h"], o["dilation_w"]), groups=channels if depthwise else 1,
                              bias=b is not None)
        self.conv.weight.data.copy_(weight)
        if b is not None:
            self.conv.bias.data.copy_(torch.from_numpy(b.dequantize()))
        self.clamp = fused_clamp(op)

    def forward(self, x):
        y = self.conv(x if self.pad is None else self.pad(x))
        if self.clamp is not None:
            y.clamp_(*self.clamp)  # in place: y is this op's own new tensor
        return self.fake_quant(y)


class Add(Op):
    """ADD of two activations of the same shape, and its fused activation."""

    def __init__(self, op, tensors, grid):
        super().__init__(op.inputs, op.outputs[0], grid)
        self.clamp = fused_clamp(op)

    def forward(self, a, b):
        y = a + b
        if self.clamp is not None:
            y.clamp_(*self.clamp)  # in place: y is this op's own new tensor
        return self.fake_quant(y)


class AveragePool(Op):
    """AVERAGE_POOL_2D with "VALID" padding (the global pool before the logits)."""

    def __init__(self, op, tensors, grid):
        o = op.options
        if o["padding"] != "VALID" or o["activation"] != "NONE":
            raise TFLiteError(f"AVERAGE_POOL_2D with {o['padding']} padding and {o['activation']} is not supported")
        super().__init__([op.inputs[0]], op.outputs[0], grid)
        self.pool = nn.AvgPool2d((o["filter_h"], o["filter_w"]), (o["stride_h"], o["stride_w"]))

    def forward(self, x):
        return self.fake_quant(self.pool(x))


class Flatten(Op):
    """RESHAPE of [B, 1, 1, C] to [B, C], the only reshape whose meaning is the same in NHWC and
    NCHW."""

    def __init__(self, op, tensors, grid):
        x, y = tensors[op.inputs[0]], tensors[op.outputs[0]]
        if len(x.shape) != 4 or x.shape[1:3] != (1, 1) or y.shape[1:] != (x.shape[3],):
            raise TFLiteError(f"RESHAPE of {list(x.shape)} to {list(y.shape)} is not supported "
                              "(only [B, 1, 1, C] to [B, C])")
        super().__init__([op.inputs[0]], op.outputs[0], grid)

    def forward(self, x):
        return self.fake_quant(torch.flatten(x, 1))


class Softmax(Op):
    """SOFTMAX over the last axis, with its beta."""

    def __init__(self, op, tensors, grid):
        super().__init__([op.inputs[0]], op.outputs[0], grid)
        self.beta = op.options["beta"]

    def forward(self, x):
        return self.fake_quant(torch.softmax(x if self.beta == 1.0 else x * self.beta, dim=-1))


OPS = {"CONV_2D": Conv, "DEPTHWISE_CONV_2D": Conv, "ADD": Add, "AVERAGE_POOL_2D": AveragePool,
       "RESHAPE": Flatten, "SOFTMAX": Softmax}


def output_grid(op, tensor):
    """The output's (scale, zero point, qmin, qmax), its fused activation's range included, as
    TFLite's CalculateActivationRangeQuantized narrows it."""
    if tensor.scale is None:
        raise TFLiteError(f"{op.op} output {tensor.name!r} is not quantised, so fake-quant has no grid for it")
    scale, zero_point, lo, hi = tensor.grid()
    clamp = fused_clamp(op)
    if clamp is not None:
        lo = max(lo, zero_point + round(clamp[0] / scale))
        if math.isfinite(clamp[1]):
            hi = min(hi, zero_point + round(clamp[1] / scale))
    return scale, zero_point, lo, hi


class MobileNetV2(nn.Module):
    """The TFLite graph as PyTorch modules: `blocks` up to the feature map, `head` after it."""

    def __init__(self, model, fake_quant=False):
        super().__init__()
        (self.input,), (self.output,) = model.inputs, model.outputs
        pools = [i for i, op in enumerate(model.operators) if op.op == "AVERAGE_POOL_2D"]
        if len(pools) != 1:
            raise TFLiteError(f"expected one AVERAGE_POOL_2D before the classifier, found {len(pools)}")
        self.features_index = model.operators[pools[0]].inputs[0]
        modules = []
        for op in model.operators:
            if op.op not in OPS:
                raise TFLiteError(f"op {op.op} is not supported (supported: {', '.join(sorted(OPS))})")
            out = model.tensors[op.outputs[0]]
            modules.append(OPS[op.op](op, model.tensors, output_grid(op, out) if fake_quant else None))
        self.input_grid = model.tensors[self.input].grid() if fake_quant else None
        self.blocks = nn.ModuleList(modules[:pools[0]])
        self.head = nn.ModuleList(modules[pools[0]:])
        known = {self.features_index}
        for op in self.head:
            if not known.issuperset(op.inputs):
                raise TFLiteError("an op after the average pool reads a tensor from before it other than the feature map")
            known.add(op.output)
        # Channels-last weights make PyTorch's CPU convolutions run channels-last: 17 to 42 % of
        # the NCHW layout's CPU time at batch 1 to 16 on the 2-core machine here.
        self.to(memory_format=torch.channels_last).eval().requires_grad_(False)

    @staticmethod
    def _run(ops, values, keep):
        """Runs `ops` on the tensors in `values`, dropping each as soon as no later op reads it
        (a batch of 32 would otherwise hold every activation at once); returns tensor `keep`."""
        last_reader = {i: n for n, op in enumerate(ops) for i in op.inputs}
        for n, op in enumerate(ops):
            values[op.output] = op(*(values[i] for i in op.inputs))
            for i in set(op.inputs):
                if last_reader[i] == n and i != keep:
                    del values[i]
        return values[keep]

    def features(self, pixel_values):
        """The feature map before the global average pool, after the last 1x1 convolution and its
        ReLU6 (values in [0, 6]): [B, 1280, 7, 7] for 224x224 input. Other sizes whose sides are
        multiples of 32 work too ([B, 1280, H/32, W/32]): the padding, computed from the file's
        224x224 shapes, is the same for every such size."""
        x = pixel_values if self.input_grid is None else round_to_grid(pixel_values, self.input_grid)
        return self._run(self.blocks, {self.input: x}, self.features_index)

    def forward(self, pixel_values):
        """The classifier's softmax scores, [B, 1001] (index 0 "background"); 224x224 input only
        (the file's average pool is 7x7)."""
        return self._run(self.head, {self.features_index: self.features(pixel_values)}, self.output)


def load_mobilenet_v2(tflite_path, fake_quant=False):
    """MobileNetV2 from the uint8 TFLite file at `tflite_path`, float32, in eval mode and without
    gradients (call requires_grad_() to fine-tune). `fake_quant` rounds every activation to its
    uint8 grid (to check the parse; the float network is the one to deploy). TFLiteError says
    in one line what is wrong with the file."""
    model = read_tflite(tflite_path)
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise TFLiteError(f"{tflite_path}: expected one input and one output, "
                          f"found {len(model.inputs)} and {len(model.outputs)}")
    x = model.tensors[model.inputs[0]]
    if x.dtype != np.uint8 or x.scale is None or x.grid()[:2] != (INPUT_SCALE, INPUT_ZERO_POINT):
        raise TFLiteError(f"{tflite_path}: the input is not uint8 with scale 1/128 and zero point 128 "
                          "(the scaling to_pixel_values applies)")
    try:
        return MobileNetV2(model, fake_quant)
    except TFLiteError as error:
        raise TFLiteError(f"{tflite_path}: {error}")
