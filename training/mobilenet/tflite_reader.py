"""Reads what a convolutional network needs from a TFLite file: its tensors (name, shape, type,
constant data, quantisation) and its operators in execution order (builtin op, inputs, outputs,
options), and dequantises constant tensors. Hand-written on `struct`, so that no code generated
from the schema is needed.

The field numbers below are those of TFLite's schema, tensorflow/lite/schema/schema.fbs in the
TensorFlow repository (Apache-2.0); each table's comment names it. A flatbuffer table starts with
a signed offset back to its vtable; the vtable lists, per field number, the field's offset inside
the table (0: absent, the schema's default applies). Offsets to tables, vectors and strings are
unsigned and relative to where they are stored; a vector is a uint32 length, then its elements.
"""
import struct
from dataclasses import dataclass, field

import numpy as np


class TFLiteError(Exception):
    """A file that is not a TFLite model this reader understands, said in one line."""


# enum TensorType: the numeric ones.
DTYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 7: np.int16, 9: np.int8}
# enum BuiltinOperator: the ops a MobileNet-style network uses; others keep their number.
OPS = {0: "ADD", 1: "AVERAGE_POOL_2D", 2: "CONCATENATION", 3: "CONV_2D", 4: "DEPTHWISE_CONV_2D",
       6: "DEQUANTIZE", 9: "FULLY_CONNECTED", 17: "MAX_POOL_2D", 22: "RESHAPE", 25: "SOFTMAX",
       40: "MEAN", 43: "SQUEEZE", 114: "QUANTIZE"}
PADDING = {0: "SAME", 1: "VALID"}  # enum Padding
ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH"}  # enum ActivationFunctionType

# Operator.builtin_options per op: (field name, field number, struct format, default). The union's
# member tables: Conv2DOptions, DepthwiseConv2DOptions, Pool2DOptions, AddOptions, SoftmaxOptions,
# ReshapeOptions (its new_shape is a vector, read apart), FullyConnectedOptions.
_POOL = [("padding", 0, "b", 0), ("stride_w", 1, "i", 0), ("stride_h", 2, "i", 0),
         ("filter_w", 3, "i", 0), ("filter_h", 4, "i", 0), ("activation", 5, "b", 0)]
OPTIONS = {
    "CONV_2D": [("padding", 0, "b", 0), ("stride_w", 1, "i", 0), ("stride_h", 2, "i", 0),
                ("activation", 3, "b", 0), ("dilation_w", 4, "i", 1), ("dilation_h", 5, "i", 1)],
    "DEPTHWISE_CONV_2D": [("padding", 0, "b", 0), ("stride_w", 1, "i", 0), ("stride_h", 2, "i", 0),
                          ("depth_multiplier", 3, "i", 0), ("activation", 4, "b", 0),
                          ("dilation_w", 5, "i", 1), ("dilation_h", 6, "i", 1)],
    "AVERAGE_POOL_2D": _POOL,
    "MAX_POOL_2D": _POOL,
    "ADD": [("activation", 0, "b", 0)],
    "FULLY_CONNECTED": [("activation", 0, "b", 0)],
    "SOFTMAX": [("beta", 0, "f", 0.0)],
    "RESHAPE": [],
}


class _Table:
    """One flatbuffer table: its fields by field number."""

    def __init__(self, data, pos):
        self.data, self.pos = data, pos
        self.vtable = pos - struct.unpack_from("<i", data, pos)[0]
        self.vsize = struct.unpack_from("<H", data, self.vtable)[0]

    def _at(self, n):
        slot = 4 + 2 * n
        if slot >= self.vsize:
            return None
        offset = struct.unpack_from("<H", self.data, self.vtable + slot)[0]
        return self.pos + offset if offset else None

    def _target(self, n):
        at = self._at(n)
        return None if at is None else at + struct.unpack_from("<I", self.data, at)[0]

    def scalar(self, n, fmt, default=0):
        at = self._at(n)
        return default if at is None else struct.unpack_from("<" + fmt, self.data, at)[0]

    def table(self, n):
        at = self._target(n)
        return None if at is None else _Table(self.data, at)

    def vector(self, n, dtype):
        """A vector of numbers as a NumPy array (empty when absent)."""
        at = self._target(n)
        if at is None:
            return np.zeros(0, dtype)
        (length,) = struct.unpack_from("<I", self.data, at)
        return np.frombuffer(self.data, np.dtype(dtype).newbyteorder("<"), length, at + 4)

    def tables(self, n):
        at = self._target(n)
        if at is None:
            return []
        (length,) = struct.unpack_from("<I", self.data, at)
        elements = [at + 4 + 4 * i for i in range(length)]
        return [_Table(self.data, e + struct.unpack_from("<I", self.data, e)[0]) for e in elements]

    def string(self, n):
        return bytes(self.vector(n, np.uint8)).decode("utf-8", "replace")


@dataclass
class Tensor:
    """A tensor of the graph. `data` holds a constant's stored values (None for activations);
    `scale` and `zero_point` are per tensor (length 1) or per channel along `quantized_dimension`
    (None for a float tensor)."""
    index: int
    name: str
    shape: tuple
    dtype: type
    data: np.ndarray = None
    scale: np.ndarray = None
    zero_point: np.ndarray = None
    quantized_dimension: int = 0

    def dequantize(self):
        """The constant's real values, float32: scale * (q - zero_point) along its channels."""
        if self.data is None:
            raise TFLiteError(f"tensor {self.index} ({self.name}) has no constant data")
        q = self.data.astype(np.float64)
        if self.scale is None:
            return q.astype(np.float32)
        along = [1] * q.ndim
        if len(self.scale) > 1:
            along[self.quantized_dimension] = len(self.scale)
        real = self.scale.reshape(along).astype(np.float64) * (q - self.zero_point.reshape(along))
        return real.astype(np.float32)

    def grid(self):
        """(scale, zero_point, qmin, qmax) of a per-tensor quantised activation."""
        info = np.iinfo(self.dtype)
        return float(self.scale[0]), int(self.zero_point[0]), info.min, info.max


@dataclass
class Operator:
    """One op of the graph, in execution order. `options` holds its builtin options by name
    (padding "SAME"/"VALID", activation "NONE"/"RELU6"/..., strides, ...)."""
    op: str
    inputs: list
    outputs: list
    options: dict = field(default_factory=dict)


@dataclass
class Model:
    """The first subgraph of a TFLite model."""
    tensors: list
    operators: list
    inputs: list
    outputs: list


def _quantization(table, dtype):
    """QuantizationParameters: scale 2, zero_point 3 (long), details 4-5 (a union takes two field
    numbers: type, then value), quantized_dimension 6."""
    if table is None or dtype == np.float32:
        return {}
    scale = table.vector(2, np.float32)
    if len(scale) == 0:
        return {}
    zero_point = table.vector(3, np.int64)
    if len(zero_point) == 0:
        zero_point = np.zeros(len(scale), np.int64)
    return {"scale": scale.copy(), "zero_point": zero_point.copy(), "quantized_dimension": table.scalar(6, "i")}


def _buffer_data(buffer, path, index):
    """Buffer: data 0; offset 1 and size 2 (data stored outside the flatbuffer, > 2 GB models)."""
    if buffer is None:
        return None
    data = buffer.vector(0, np.uint8)
    if len(data) == 0 and buffer.scalar(1, "Q") > 1:
        raise TFLiteError(f"{path}: buffer {index} is stored outside the flatbuffer, which this reader does not read")
    return data if len(data) else None


def _tensor(table, index, buffers, path):
    """Tensor: shape 0, type 1, buffer 2, name 3, quantization 4."""
    code = table.scalar(1, "b")
    if code not in DTYPES:
        raise TFLiteError(f"{path}: tensor {index} has TensorType {code}, not a numeric type this reads")
    dtype = DTYPES[code]
    shape = tuple(int(d) for d in table.vector(0, np.int32))
    buffer = table.scalar(2, "I")
    raw = _buffer_data(buffers[buffer], path, buffer)
    data = None
    if raw is not None:
        data = np.frombuffer(raw.tobytes(), np.dtype(dtype).newbyteorder("<")).reshape(shape)
    return Tensor(index=index, name=table.string(3), shape=shape, dtype=dtype, data=data,
                  **_quantization(table.table(4), dtype))


def _operator(table, codes):
    """Operator: opcode_index 0, inputs 1, outputs 2, builtin_options type 3 and value 4."""
    op = codes[table.scalar(0, "I")]
    opts = table.table(4)  # absent: every option at its default
    options = {name: default if opts is None else opts.scalar(n, fmt, default)
               for name, n, fmt, default in OPTIONS.get(op, [])}
    if op == "RESHAPE" and opts is not None:
        options["new_shape"] = [int(d) for d in opts.vector(0, np.int32)]
    if "padding" in options:
        options["padding"] = PADDING[options["padding"]]
    if "activation" in options:
        options["activation"] = ACTIVATIONS.get(options["activation"], str(options["activation"]))
    return Operator(op=op, inputs=[int(i) for i in table.vector(1, np.int32)],
                    outputs=[int(i) for i in table.vector(2, np.int32)], options=options)


def _opcode(table):
    """OperatorCode: deprecated_builtin_code 0 (int8; the only field before schema 3a), custom_code 1,
    version 2, builtin_code 3 (int32). TFLite reads the larger of the two (schema_utils'
    GetBuiltinCode): old files leave builtin_code at 0, new ones keep ops < 127 in both."""
    code = max(table.scalar(0, "b"), table.scalar(3, "i"))
    return OPS.get(code, f"BUILTIN_{code}")


def read_tflite(path):
    """The first subgraph of the TFLite file at `path`; TFLiteError names what is wrong."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as error:
        raise TFLiteError(f"{path}: cannot read ({error.strerror})")
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise TFLiteError(f"{path}: not a TFLite model (no TFL3 identifier)")
    try:
        # Model: version 0, operator_codes 1, subgraphs 2, description 3, buffers 4.
        model = _Table(data, struct.unpack_from("<I", data, 0)[0])
        codes = [_opcode(t) for t in model.tables(1)]
        buffers = model.tables(4)
        subgraphs = model.tables(2)
        if not subgraphs:
            raise TFLiteError(f"{path}: the model has no subgraph")
        # SubGraph: tensors 0, inputs 1, outputs 2, operators 3, name 4.
        graph = subgraphs[0]
        tensors = [_tensor(t, i, buffers, path) for i, t in enumerate(graph.tables(0))]
        operators = [_operator(t, codes) for t in graph.tables(3)]
        return Model(tensors=tensors, operators=operators, inputs=[int(i) for i in graph.vector(1, np.int32)],
                      outputs=[int(i) for i in graph.vector(2, np.int32)])
    except (struct.error, IndexError, ValueError) as error:
        raise TFLiteError(f"{path}: damaged or truncated TFLite file ({error})")


def with_outputs(data, tensors):
    """A copy of the TFLite file `data` (bytes) whose first subgraph outputs the tensors `tensors`
    (indices), so that another runtime reports intermediate tensors. The new outputs vector is
    appended at the end and the SubGraph's outputs field (number 2) repointed to it: flatbuffer
    offsets point forward, so the old vector is merely left unreferenced."""
    graph = _Table(data, struct.unpack_from("<I", data, 0)[0]).tables(2)[0]
    at = graph._at(2)
    if at is None:
        raise TFLiteError("the subgraph has no outputs field to repoint")
    out = bytearray(data) + bytes(-len(data) % 4)
    struct.pack_into("<I", out, at, len(out) - at)
    return bytes(out + struct.pack(f"<I{len(tensors)}i", len(tensors), *tensors))
