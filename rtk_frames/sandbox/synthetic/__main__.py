"""``python -m rtk_frames.sandbox.synthetic [OUT_DIR]``: regenerate the bundled demo data.

``OUT_DIR`` defaults to ``data_samples/demo``.
"""

from __future__ import annotations

import sys

from rtk_frames.sandbox.synthetic import demo_dataset

if __name__ == "__main__":
    demo_dataset().to_dir(sys.argv[1] if len(sys.argv) > 1 else "data_samples/demo")
