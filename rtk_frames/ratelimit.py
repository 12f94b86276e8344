"""Moved to :mod:`rtk_frames.client.ratelimit` (the rate budget is part of the wire); kept as an alias.

Example:
    >>> from rtk_frames.ratelimit import RateLimiter
    >>> RateLimiter.__module__
    'rtk_frames.client.ratelimit'
"""

from rtk_frames.client.ratelimit import (
    DEFAULT_WINDOWS,
    RateLimiter,
    ServerRateLimit,
    parse_ratelimit_headers,
)

__all__ = ["DEFAULT_WINDOWS", "RateLimiter", "ServerRateLimit", "parse_ratelimit_headers"]
