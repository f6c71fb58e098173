"""Small causal temporal CNN over log-mel frames, and its streaming (stateful) twin for export.

Every convolution is causal: in training it sees left zero-padding; when streaming, the same
zeros are the initial state, and each call's state holds the last (k−1)·d inputs of that conv.
So the streaming model reproduces the full-sequence model frame for frame.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

N_MELS = 40
CHANNELS = 64
KERNEL = 5
DILATIONS = (1, 2, 4, 8, 16)


class CausalConv(nn.Module):
    def __init__(self, c_in: int, c_out: int, kernel: int, dilation: int = 1, groups: int = 1):
        super().__init__()
        self.context = (kernel - 1) * dilation  # input frames of history this conv needs
        self.conv = nn.Conv1d(c_in, c_out, kernel, dilation=dilation, groups=groups, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (self.context, 0)))


class ResidualBlock(nn.Module):
    """Depthwise dilated conv (time) → pointwise conv (channels) → BatchNorm → ReLU, plus the input."""

    def __init__(self, channels: int, kernel: int, dilation: int):
        super().__init__()
        self.depthwise = CausalConv(channels, channels, kernel, dilation, groups=channels)
        self.pointwise = nn.Conv1d(channels, channels, 1, bias=False)
        self.norm = nn.BatchNorm1d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + F.relu(self.norm(self.pointwise(self.depthwise(x))))


class WakeWordTCN(nn.Module):
    """features (B, T, n_mels) → logits (B, T). Receptive field 1 + 4 + 4·(1+2+4+8+16) = 129 frames ≈ 1.3 s."""

    def __init__(self, n_mels: int = N_MELS, channels: int = CHANNELS, kernel: int = KERNEL, dilations=DILATIONS):
        super().__init__()
        # Per-mel-bin mean/std of the training features, baked into the graph as constants.
        self.register_buffer("feature_mean", torch.zeros(n_mels))
        self.register_buffer("feature_std", torch.ones(n_mels))
        self.conv_in = CausalConv(n_mels, channels, kernel)
        self.norm_in = nn.BatchNorm1d(channels)
        self.blocks = nn.ModuleList(ResidualBlock(channels, kernel, d) for d in dilations)
        self.head = nn.Conv1d(channels, 1, 1)

    @property
    def receptive_field(self) -> int:
        return 1 + self.conv_in.context + sum(b.depthwise.context for b in self.blocks)

    def _normalise(self, features: torch.Tensor) -> torch.Tensor:
        return ((features - self.feature_mean) / self.feature_std).transpose(1, 2)  # (B, n_mels, T)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.norm_in(self.conv_in(self._normalise(features))))
        for block in self.blocks:
            x = block(x)
        return self.head(x)[:, 0, :]


def frame_probabilities(model: WakeWordTCN, features: np.ndarray) -> np.ndarray:
    """Per-frame probabilities (T,) of the full-sequence model for numpy features (T, n_mels)."""
    with torch.no_grad():
        return torch.sigmoid(model(torch.from_numpy(features)[None]))[0].numpy()


def _side_by_side(convs: list[nn.Conv1d]) -> nn.Conv2d:
    """The networks' copies of one conv as one conv grouped by network, 2-D over a (1, T) plane."""
    first, n = convs[0], len(convs)
    conv = nn.Conv2d(first.in_channels * n, first.out_channels * n, (1, first.kernel_size[0]),
                     dilation=(1, first.dilation[0]), groups=first.groups * n, bias=first.bias is not None)
    with torch.no_grad():
        conv.weight.copy_(torch.cat([c.weight for c in convs])[:, :, None, :])
        if first.bias is not None:
            conv.bias.copy_(torch.cat([c.bias for c in convs]))
    return conv


def _norms_side_by_side(norms: list[nn.BatchNorm1d]) -> nn.BatchNorm2d:
    norm = nn.BatchNorm2d(sum(n.num_features for n in norms), eps=norms[0].eps)
    with torch.no_grad():
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(norm, name).copy_(torch.cat([getattr(n, name) for n in norms]))
    return norm.eval()


class StreamingNetworks(nn.Module):
    """forward(features, state_0..state_5) → (scores, state_0_out..state_5_out), sigmoid inside (FORMAT.md).

    One trained network, or several as an ensemble scoring the mean of their probabilities. Several
    run side by side as one wider network (each layer holds the networks' channels one after another,
    every conv grouped by network), so an ensemble has one network's nodes and six state tensors:
    onnxruntime's cost per call is mostly per node, not per channel. Networks trained alike from
    different seeds scatter their scores on what training did not pin down, so their mean is steadier
    at low false-accept rates; a negative that fools every seed still fools the mean (README).

    The convs are 2-D over a (1, T) plane because onnxruntime runs 2-D convs with its blocked (NCHWc)
    kernels where the CPU has them, in about two thirds of the time of the same 1-D convs (README).
    """

    def __init__(self, networks: list[WakeWordTCN]):
        super().__init__()
        networks = [m.eval() for m in networks]
        first = networks[0]
        self.count = len(networks)
        self.register_buffer("feature_mean", torch.cat([m.feature_mean for m in networks]))
        self.register_buffer("feature_std", torch.cat([m.feature_std for m in networks]))
        self.conv_in = _side_by_side([m.conv_in.conv for m in networks])
        self.norm_in = _norms_side_by_side([m.norm_in for m in networks])
        layers = range(len(first.blocks))
        self.depthwise = nn.ModuleList(_side_by_side([m.blocks[i].depthwise.conv for m in networks]) for i in layers)
        self.pointwise = nn.ModuleList(_side_by_side([m.blocks[i].pointwise for m in networks]) for i in layers)
        self.norms = nn.ModuleList(_norms_side_by_side([m.blocks[i].norm for m in networks]) for i in layers)
        self.head = _side_by_side([m.head for m in networks])
        self.contexts = [first.conv_in.context] + [b.depthwise.context for b in first.blocks]
        self.eval()

    def state_shapes(self) -> list[tuple[int, int, int, int]]:
        convs = [self.conv_in, *self.depthwise]
        return [(1, conv.in_channels, 1, context) for conv, context in zip(convs, self.contexts)]

    @staticmethod
    def _step(x: torch.Tensor, state: torch.Tensor, context: int) -> tuple[torch.Tensor, torch.Tensor]:
        """A causal conv's input with its carried history prepended, and the history to carry on."""
        x_in = torch.cat((state, x), dim=3)
        return x_in, x_in[:, :, :, -context:]  # a constant slice: no shape ops in the graph

    def forward(self, features: torch.Tensor, *states: torch.Tensor):
        x = torch.cat([features] * self.count, dim=2) if self.count > 1 else features
        x = ((x - self.feature_mean) / self.feature_std).transpose(1, 2)[:, :, None, :]  # (1, n·n_mels, 1, T)
        x_in, state = self._step(x, states[0], self.contexts[0])
        new_states = [state]
        x = F.relu(self.norm_in(self.conv_in(x_in)))
        for depthwise, pointwise, norm, context, state in zip(
                self.depthwise, self.pointwise, self.norms, self.contexts[1:], states[1:]):
            x_in, state = self._step(x, state, context)
            new_states.append(state)
            x = x + F.relu(norm(pointwise(depthwise(x_in))))
        probabilities = torch.sigmoid(self.head(x))[:, :, 0, :]  # (1, n, T)
        scores = probabilities.mean(dim=1) if self.count > 1 else probabilities[:, 0, :]
        return (scores, *new_states)


def ensemble_probabilities(members: list[WakeWordTCN], features: np.ndarray) -> np.ndarray:
    """What StreamingNetworks of these networks scores, from the full-sequence networks."""
    return np.mean([frame_probabilities(m, features) for m in members], axis=0)
