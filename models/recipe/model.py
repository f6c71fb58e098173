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

    def step(self, x: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Streaming form: prepend the carried history instead of zeros."""
        x_in = torch.cat((state, x), dim=2)
        return self.conv(x_in), x_in[:, :, -self.context :]  # a constant slice: no shape ops in the graph


class ResidualBlock(nn.Module):
    """Depthwise dilated conv (time) → pointwise conv (channels) → BatchNorm → ReLU, plus the input."""

    def __init__(self, channels: int, kernel: int, dilation: int):
        super().__init__()
        self.depthwise = CausalConv(channels, channels, kernel, dilation, groups=channels)
        self.pointwise = nn.Conv1d(channels, channels, 1, bias=False)
        self.norm = nn.BatchNorm1d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + F.relu(self.norm(self.pointwise(self.depthwise(x))))

    def step(self, x, state):
        y, state = self.depthwise.step(x, state)
        return x + F.relu(self.norm(self.pointwise(y))), state


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

    def state_shapes(self) -> list[tuple[int, int, int]]:
        convs = [self.conv_in] + [b.depthwise for b in self.blocks]
        return [(1, c.conv.in_channels, c.context) for c in convs]


def frame_probabilities(model: WakeWordTCN, features: np.ndarray) -> np.ndarray:
    """Per-frame probabilities (T,) of the full-sequence model for numpy features (T, n_mels)."""
    with torch.no_grad():
        return torch.sigmoid(model(torch.from_numpy(features)[None]))[0].numpy()


class StreamingWakeWord(nn.Module):
    """forward(features, state_0..state_k) → (scores, state_0_out..state_k_out), sigmoid inside (FORMAT.md)."""

    def __init__(self, model: WakeWordTCN):
        super().__init__()
        self.model = model.eval()

    def forward(self, features: torch.Tensor, *states: torch.Tensor):
        m = self.model
        x, s_in = m.conv_in.step(m._normalise(features), states[0])
        x = F.relu(m.norm_in(x))
        new_states = [s_in]
        for block, state in zip(m.blocks, states[1:]):
            x, s = block.step(x, state)
            new_states.append(s)
        scores = torch.sigmoid(m.head(x)[:, 0, :])
        return (scores, *new_states)


class StreamingEnsemble(nn.Module):
    """Several independently trained networks as one streaming model: the mean of their probabilities.

    Networks trained alike from different seeds scatter their scores on what training did not pin
    down, so their mean is steadier at low false-accept rates; a negative that fools every seed still
    fools the mean (models/recipe/README.md). The states are each member's, one after another.
    """

    def __init__(self, members: list[WakeWordTCN]):
        super().__init__()
        self.members = nn.ModuleList(StreamingWakeWord(m) for m in members)
        self.state_counts = [len(m.state_shapes()) for m in members]

    def forward(self, features: torch.Tensor, *states: torch.Tensor):
        total, new_states, at = 0, [], 0
        for member, count in zip(self.members, self.state_counts):
            scores, *member_states = member(features, *states[at : at + count])
            total = total + scores
            new_states += member_states
            at += count
        return (total / len(self.members), *new_states)


def ensemble_probabilities(members: list[WakeWordTCN], features: np.ndarray) -> np.ndarray:
    """What a StreamingEnsemble of these networks scores, from the full-sequence networks."""
    return np.mean([frame_probabilities(m, features) for m in members], axis=0)
