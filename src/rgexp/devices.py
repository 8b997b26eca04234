"""The torch device a run or a model is placed on, from the config's ``device`` (``auto``/``cpu``/``cuda``)."""

from __future__ import annotations

import torch

from rgexp.errors import ConfigError

__all__ = ["resolve_device"]


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None``/``"cpu"`` → cpu; ``"auto"`` → cuda when available, else cpu; anything else as torch
    reads it (``"cuda:1"``, a ``torch.device``). A CUDA device without CUDA is a :class:`ConfigError`
    (a ``ValueError``) here rather than a failure at the first tensor placed on it."""
    if device is None:
        return torch.device("cpu")
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device={device} but no CUDA device is available; allowed: auto, cpu, cuda")
    return resolved
