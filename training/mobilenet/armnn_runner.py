"""A TFLite file run by Arm NN's reference backend (CpuRef), the reference for the rebuilt network:
it computes each op from its dequantised inputs and rounds the result to the op's quantised
output, so it follows the file's own arithmetic. Needs Debian's Arm NN: apt-get install
python3-pyarmnn libarmnntfliteparser22."""
import numpy as np
import pyarmnn as ann

VERSION = f"Arm NN {ann.ARMNN_VERSION} CpuRef"


class ArmNN:
    """The file at `path` loaded into CpuRef: uint8 pixels [224, 224, 3] in, the graph's outputs
    (uint8 arrays, NHWC as the file stores them) out, in the order of `names`; `outputs` holds
    their binding info (its TensorInfo has the quantisation)."""

    def __init__(self, path):
        parser = ann.ITfLiteParser()
        network = parser.CreateNetworkFromBinaryFile(path)
        self.input = parser.GetNetworkInputBindingInfo(0, parser.GetSubgraphInputTensorNames(0)[0])
        self.names = list(parser.GetSubgraphOutputTensorNames(0))
        self.outputs = [parser.GetNetworkOutputBindingInfo(0, n) for n in self.names]
        self.runtime = ann.IRuntime(ann.CreationOptions())
        optimised, _ = ann.Optimize(network, [ann.BackendId("CpuRef")], self.runtime.GetDeviceSpec(),
                                    ann.OptimizerOptions())
        self.network, _ = self.runtime.LoadNetwork(optimised)

    def __call__(self, pixels):
        outputs = ann.make_output_tensors(self.outputs)
        inputs = ann.make_input_tensors([self.input], [np.ascontiguousarray(pixels[None])])
        self.runtime.EnqueueWorkload(self.network, inputs, outputs)
        return ann.workload_tensors_to_ndarray(outputs)
