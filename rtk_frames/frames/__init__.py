"""Pure flatteners: API payload -> typed pandas DataFrame. No network, no client imports.

One module per response family (sessions, participants, quality, peer_report, media) plus the shared
coercions in ``_coerce``. The public names are re-exported flat from :mod:`rtk_frames`.
"""
