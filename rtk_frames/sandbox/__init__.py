"""A faithful local emulator of the RealtimeKit Sessions API (like moto for AWS), over real HTTP.

The sandbox shares no code with :mod:`rtk_frames.client` or :mod:`rtk_frames.frames`: it is their
opponent in tests, so a bug cannot hide in a helper both sides use.

Example:
    >>> from rtk_frames.sandbox import Dataset, Faults, serve
    >>> with serve(Dataset.synthetic(sessions=2, participants=4, samples=10, seed=1)) as api:
    ...     api.base_url.endswith("/client/v4"), api.account_id == api.dataset.account_id
    (True, True)
"""

from __future__ import annotations

from rtk_frames.sandbox.dataset import Dataset
from rtk_frames.sandbox.faults import Faults
from rtk_frames.sandbox.server import RequestRecord, SandboxAPI, serve

__all__ = ["Dataset", "Faults", "RequestRecord", "SandboxAPI", "serve"]
