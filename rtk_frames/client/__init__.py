"""The wire: an HTTP client for the RealtimeKit Sessions API that returns the raw JSON dicts. No pandas.

- :mod:`~rtk_frames.client.surface`: :class:`Client`, its raw methods generated from
  :mod:`rtk_frames.endpoints`, paging and downloads;
- :mod:`~rtk_frames.client.transport`: sessions, auth for the API host only, timeouts, one retry loop;
- :mod:`~rtk_frames.client.envelopes`: the service's error envelopes -> typed errors;
- :mod:`~rtk_frames.client.ratelimit`: the client-side request budget.

Example:
    >>> from rtk_frames.client import Client
    >>> from rtk_frames.sandbox import Dataset, serve
    >>> with serve(Dataset.from_samples()) as api:
    ...     payload = api.client().get_sessions(per_page=5)
    >>> payload["success"]
    True
"""

from rtk_frames.client.envelopes import error_from_response, service_error
from rtk_frames.client.ratelimit import RateLimiter
from rtk_frames.client.surface import Client, DownloadedFile, MissingCredentialsError, query_params
from rtk_frames.client.transport import ClientStats

__all__ = [
    "Client",
    "ClientStats",
    "DownloadedFile",
    "MissingCredentialsError",
    "RateLimiter",
    "error_from_response",
    "query_params",
    "service_error",
]
