"""The HTML quality report (jinja2 templates in ``templates/``, assembly in ``build``).

Example:
    >>> from rtk_frames.report import render_session_report, collect_session
    >>> callable(render_session_report) and callable(collect_session)
    True
"""

from rtk_frames.report import build
from rtk_frames.report.build import *  # noqa: F403  (the public names of build, listed in its __all__)

__all__ = list(build.__all__)
