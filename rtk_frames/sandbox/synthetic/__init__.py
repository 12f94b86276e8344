"""A realistic, reproducible generator of RealtimeKit session data for the sandbox.

What it makes (everything driven by one ``numpy.random.Generator`` seeded with ``seed``), one module
per kind of data:

- :mod:`.sessions`: meetings with titles spread over several days; the most recent one still ``LIVE``
  (when there are 3+), some with breakout rooms (child sessions with their own participant rows);
  participants with overlapping join/leave times, rejoins (a second row with a new id — participant
  ids ARE peer ids — and the same ``user_id``), mixed browsers / OS / SDK versions / networks /
  countries, and their peer events;
- :mod:`.series`: per participant a quality time series (~7 s apart): someone on a poor network has LOW
  quality with HIGH jitter and loss at the same moments, and high RTT in the peer report's series;
  someone on a weak CPU shows ``quality_limitation_reason == "cpu"`` and dropped frames;
- :mod:`.details` (participant details, the seed's blocks) and :mod:`.peer_reports` (SDK shapes),
  built from the series lazily, when first read, so ``synthetic(sessions=40, participants=50,
  samples=60)`` (2,000 participants) is quick;
- :mod:`.conversation`: chat and transcripts spoken by participants while they are present; a summary
  for some sessions;
- :mod:`.quirks`: the wire's known messy cases, on request;
- :mod:`.assembly`: :func:`generate` and :func:`demo_dataset`, which put the above together;
  :mod:`.draws` and :mod:`.wire` are the random draws and the wire's value formats they share.

The generators build :class:`~rtk_frames.sandbox.records.DatasetRecords` and never import
:mod:`rtk_frames.sandbox.dataset` (which imports them): ``Dataset.synthetic(...)`` wraps the records.

Example:
    >>> from rtk_frames.sandbox.synthetic import generate
    >>> ds = generate(sessions=2, participants=4, samples=10, seed=1)
    >>> len(ds.sessions), len(ds.participants[ds.sessions[0]["id"]])
    (2, 4)
"""

from __future__ import annotations

from rtk_frames.sandbox.synthetic.assembly import demo_dataset, generate
from rtk_frames.sandbox.synthetic.conversation import summary_text
from rtk_frames.sandbox.synthetic.quirks import add_quirks
from rtk_frames.sandbox.synthetic.series import SAMPLE_INTERVAL_S

__all__ = ["SAMPLE_INTERVAL_S", "add_quirks", "demo_dataset", "generate", "summary_text"]
