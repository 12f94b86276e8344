"""A faithful local emulator of the RealtimeKit Sessions API (like moto for AWS), over real HTTP.

- :func:`serve` starts it on 127.0.0.1 (a free port by default) and returns a :class:`SandboxAPI`:
  ``api.base_url``, ``api.account_id``, ``api.app_id``, ``api.api_token`` for any HTTP client,
  ``api.client()`` for an :class:`rtk_frames.Client`, ``api.request_log`` / ``api.counts()`` to see what
  was asked, ``api.set_faults(Faults(...))`` and ``api.advance_clock(s)`` to steer it.
- :class:`Dataset` is what it serves: ``Dataset.from_samples()`` (3 small realistic sessions),
  ``Dataset.synthetic(sessions, participants, samples, seed)`` (any size, reproducible, ``messy=True``
  for the wire's known quirks), ``to_dir()`` / ``from_dir()``.
- :class:`Faults` injects 429s, 5xx bursts, dropped connections, truncated bodies, HTML proxy pages and
  latency; ``serve(rate_limit=(n, window_s))`` adds a request budget with ``Ratelimit`` headers.
- ``serve(flavor="seed")`` answers in the API reference's example shapes instead of SDK 5.9.0's.

The sandbox shares no code with :mod:`rtk_frames.client` or :mod:`rtk_frames.frames`: it is their
opponent in tests, so a bug cannot hide in a helper both sides use.

Example:
    >>> import requests
    >>> from rtk_frames.sandbox import Dataset, Faults, serve
    >>> with serve(Dataset.synthetic(sessions=2, participants=4, samples=10, seed=1),
    ...            faults=Faults(rate_limited_first=1)) as api:
    ...     auth = {"Authorization": f"Bearer {api.api_token}"}
    ...     codes = [requests.get(api.url("sessions"), headers=auth).status_code for _ in range(2)]
    ...     codes, api.counts()
    ([429, 200], {'get_sessions': 2})
"""

from __future__ import annotations

from rtk_frames.sandbox.dataset import Dataset
from rtk_frames.sandbox.faults import Faults
from rtk_frames.sandbox.server import RequestRecord, SandboxAPI, serve

__all__ = ["Dataset", "Faults", "RequestRecord", "SandboxAPI", "serve"]
