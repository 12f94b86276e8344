"""Shared fixtures: a sandbox of the API on 127.0.0.1, serving the bundled sample data over real HTTP."""

from __future__ import annotations

import os
from collections.abc import Iterator

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def sample_api() -> Iterator[object]:
    """A sandbox serving ``Dataset.from_samples()`` (SDK shapes), shared by the whole test session."""
    from rtk_frames.sandbox import Dataset, serve

    with serve(Dataset.from_samples()) as api:
        yield api


@pytest.fixture()
def sample_client(sample_api):
    """A fresh :class:`rtk_frames.Client` pointed at the shared sample sandbox."""
    return sample_api.client()
