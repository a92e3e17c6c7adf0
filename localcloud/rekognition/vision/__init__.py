"""A real pretrained image classifier for the local cloud's DetectLabels, on CPU, without torch.

torchvision's MobileNetV2 (ImageNet-1k) is read from its published ``.pth`` file, rebuilt as
an ONNX graph that also gives class activation maps, cached, and run by onnxruntime.

Layout, one concern a module:

* ``weights.py``    find, hash-check and read the legacy ``.pth`` (a restricted unpickler);
* ``graph.py``      the ONNX graph: BatchNorm folded, classifier as a 1x1 conv (CAMs);
* ``model.py``      convert once into a cache folder, load, ``Classifier.look(image)``;
* ``views.py``      what to look at (whole image, panorama tiles), input tensors, CAM -> box;
* ``exceptions.py`` ``ModelUnavailable`` (and ``ModelNotInstalled``), whose message names the fix.

Importing this package imports neither onnx nor onnxruntime; ``load`` does.
"""

from __future__ import annotations

from .exceptions import ModelNotInstalled, ModelUnavailable
from .model import MODEL_VERSION, Classifier, load, prepare
from .views import WHOLE, Box, View, locate

__all__ = [
    "MODEL_VERSION", "WHOLE", "Box", "Classifier", "ModelNotInstalled", "ModelUnavailable", "View", "load", "locate",
    "prepare",
]
