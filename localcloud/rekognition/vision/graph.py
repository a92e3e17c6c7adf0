"""torchvision's MobileNetV2 as an ONNX graph, built from its state dict with onnx's helpers.

The graph is what ``torchvision.models.mobilenet_v2()`` computes in eval mode, rearranged
for inference on a CPU and for localisation:

* every BatchNorm (eps 1e-5) is folded into the convolution before it, so the graph holds
  only Conv, Clip (ReLU6), Add and one ReduceMean;
* the classifier (Dropout, then Linear 1280 -> 1000) runs as a 1x1 convolution over the
  7x7 feature map instead of after the global average pool. That gives a class activation
  map per class (CAM, Zhou et al. 2016, "Learning Deep Features for Discriminative
  Localization"), and since the classifier is linear, the spatial mean of the maps equals
  Linear(mean of features): the ``logits`` output is exactly torchvision's logits.

Outputs: ``cams`` (N, 1000, 7, 7) and ``logits`` (N, 1000), for input ``image``
(N, 3, 224, 224), ImageNet-normalised RGB; N is dynamic so tiles run as one batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .weights import StateDict

if TYPE_CHECKING:
    import onnx

# onnx itself is imported inside the functions that build: it takes 0.7 s to import, and a
# start that finds the converted model cached never needs it (onnxruntime reads the file).

# Bumped whenever the graph built from the same weights changes; part of the cache's name.
GRAPH_VERSION = 1
# Opset 17 keeps ReduceMean's axes an attribute; IR 8 is what opset 17 shipped with, so any
# onnxruntime >= 1.14 opens the file whatever onnx release wrote it.
OPSET = 17
IR_VERSION = 8
BN_EPS = 1e-5
INPUT_SIZE = 224
CAM_SIZE = INPUT_SIZE // 32
CLASSES = 1000

# torchvision's inverted residual settings: expansion t, output channels c, repeats n, stride s.
INVERTED_RESIDUAL_SETTING = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
STEM_CHANNELS = 32
LAST_CHANNELS = 1280


@dataclass
class _Builder:
    weights: StateDict
    nodes: list[onnx.NodeProto] = field(default_factory=list)
    initializers: list[onnx.TensorProto] = field(default_factory=list)

    def constant(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value, dtype=np.float32), name))
        return name

    def conv_bn(self, x: str, conv: str, bn: str, *, stride: int = 1, groups: int = 1, relu6: bool) -> str:
        """Conv (no bias) + BatchNorm folded into one Conv with bias, optionally ReLU6 as Clip(0, 6)."""
        from onnx import helper

        weight = self.weights[f"{conv}.weight"].astype(np.float64)
        gamma, beta, mean, var = (
            self.weights[f"{bn}.{p}"].astype(np.float64) for p in ("weight", "bias", "running_mean", "running_var")
        )
        # Folded in float64, rounded once to float32: keeps the graph within float32 rounding of torch.
        scale = gamma / np.sqrt(var + BN_EPS)
        w = self.constant(f"{conv}.w", weight * scale[:, None, None, None])
        b = self.constant(f"{conv}.b", beta - mean * scale)
        kernel = weight.shape[-1]
        y = f"{conv}.out"
        self.nodes.append(
            helper.make_node(
                "Conv",
                [x, w, b],
                [y],
                name=conv,
                kernel_shape=[kernel, kernel],
                strides=[stride, stride],
                pads=[kernel // 2] * 4,
                group=groups,
            )
        )
        if not relu6:
            return y
        self.nodes.append(
            helper.make_node("Clip", [y, "relu6.min", "relu6.max"], [f"{conv}.relu6"], name=f"{conv}.relu6")
        )
        return f"{conv}.relu6"

    def inverted_residual(self, x: str, index: int, inp: int, oup: int, stride: int, expand: int) -> str:
        from onnx import helper

        prefix = f"features.{index}.conv"
        hidden = inp * expand
        y, layer = x, 0
        if expand != 1:
            y = self.conv_bn(y, f"{prefix}.0.0", f"{prefix}.0.1", relu6=True)
            layer = 1
        y = self.conv_bn(y, f"{prefix}.{layer}.0", f"{prefix}.{layer}.1", stride=stride, groups=hidden, relu6=True)
        y = self.conv_bn(y, f"{prefix}.{layer + 1}", f"{prefix}.{layer + 2}", relu6=False)
        if stride == 1 and inp == oup:
            self.nodes.append(helper.make_node("Add", [x, y], [f"features.{index}.out"], name=f"features.{index}.add"))
            return f"features.{index}.out"
        return y


def build(weights: StateDict, *, metadata: dict[str, str] | None = None) -> onnx.ModelProto:
    """The ONNX model for torchvision's MobileNetV2 state dict ``weights`` (checked by onnx)."""
    import onnx
    from onnx import TensorProto, helper

    missing = [
        k for k in ("features.0.0.weight", "features.1.conv.0.0.weight", "classifier.1.weight") if k not in weights
    ]
    if missing:
        raise KeyError(f"not torchvision's MobileNetV2 state dict layout: missing {missing}")
    if weights["classifier.1.weight"].shape != (CLASSES, LAST_CHANNELS):
        raise ValueError(f"classifier is {weights['classifier.1.weight'].shape}, not ({CLASSES}, {LAST_CHANNELS})")
    b = _Builder(weights)
    b.constant("relu6.min", np.array(0.0))
    b.constant("relu6.max", np.array(6.0))
    x = b.conv_bn("image", "features.0.0", "features.0.1", stride=2, relu6=True)
    channels, index = STEM_CHANNELS, 1
    for expand, out, repeats, stride in INVERTED_RESIDUAL_SETTING:
        for i in range(repeats):
            x = b.inverted_residual(x, index, channels, out, stride if i == 0 else 1, expand)
            channels, index = out, index + 1
    x = b.conv_bn(x, f"features.{index}.0", f"features.{index}.1", relu6=True)
    # Dropout is the identity at inference; the Linear layer becomes a 1x1 Conv giving the CAMs.
    linear_w = weights["classifier.1.weight"]
    w = b.constant("classifier.w", linear_w.reshape(*linear_w.shape, 1, 1))
    bias = b.constant("classifier.b", weights["classifier.1.bias"])
    b.nodes.append(helper.make_node("Conv", [x, w, bias], ["cams"], name="classifier", kernel_shape=[1, 1]))
    b.nodes.append(helper.make_node("ReduceMean", ["cams"], ["logits"], name="pool", axes=[2, 3], keepdims=0))

    graph = helper.make_graph(
        b.nodes,
        "mobilenet_v2_cam",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, INPUT_SIZE, INPUT_SIZE])],
        [
            helper.make_tensor_value_info("cams", TensorProto.FLOAT, ["batch", CLASSES, CAM_SIZE, CAM_SIZE]),
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", CLASSES]),
        ],
        initializer=b.initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="localcloud.rekognition.vision",
        producer_version=str(GRAPH_VERSION),
    )
    model.ir_version = IR_VERSION
    helper.set_model_props(model, {"graph_version": str(GRAPH_VERSION), **(metadata or {})})
    onnx.checker.check_model(model)
    return model
