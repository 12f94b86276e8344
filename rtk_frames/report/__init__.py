"""The HTML quality report (jinja2 templates in ``templates/``, assembly in ``build``): it renders what it
is given (a ``Session`` from :func:`rtk_frames.collect_session`, its ``Analysis``, a fleet pull).

Example:
    >>> from rtk_frames.report import render_fleet_report, render_session_report
    >>> callable(render_session_report) and callable(render_fleet_report)
    True
"""

from rtk_frames.report import build
from rtk_frames.report.build import *  # noqa: F403  (the public names of build, listed in its __all__)

__all__ = list(build.__all__)
