"""The notebooks are committed executed, teach with visible plots and checked outputs, and CI runs them.

nbval (in the README's test command) re-runs every notebook and compares the ``# NBVAL_CHECK_OUTPUT``
cells exactly; these tests pin what nbval cannot see: that the committed notebooks were executed, show
their figures, keep the sandbox's lifecycle public, and that the test command passes the sanitizers.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
EXPECTED = ["01_quickstart.ipynb", "02_call_quality.ipynb", "03_chat_and_transcripts.ipynb", "04_fleet.ipynb"]
SANITIZERS = "notebooks/nbval_sanitize.cfg"


def _code(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def test_the_readme_test_command_checks_the_notebooks_with_the_sanitizers():
    # that README's set-up lines are what .ci/run runs is tests/test_readme.py's job
    readme_line = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()[4]
    assert f"--nbval-lax notebooks --nbval-sanitize-with {SANITIZERS}" in readme_line
    assert (ROOT / SANITIZERS).is_file()


def test_the_four_notebooks_are_there():
    present = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    assert present == EXPECTED


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_is_committed_executed_without_errors(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    cells = _code(nb)
    assert cells and all(cell.execution_count is not None for cell in cells), "run it before committing"
    counts = [cell.execution_count for cell in cells]
    assert counts == list(range(1, len(cells) + 1)), "executed top to bottom in one kernel"
    errors = [out for cell in cells for out in cell.outputs if out.output_type == "error"]
    assert not errors
    streams = "".join(out.get("text", "") for cell in cells for out in cell.outputs
                      if out.output_type == "stream")
    assert "Traceback" not in streams


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_shows_figures_inline_and_checks_its_lessons(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    cells = _code(nb)
    sources = "\n".join(cell.source for cell in cells)
    images = [out for cell in cells for out in cell.outputs if "image/png" in out.get("data", {})]
    assert images, "at least one figure shown inline as PNG"
    assert "%matplotlib inline" in sources
    assert 'use("Agg")' not in sources and "use('Agg')" not in sources
    checked = [cell for cell in cells if cell.source.startswith("# NBVAL_CHECK_OUTPUT")]
    assert len(checked) >= 3, "the cells whose output is the lesson are checked exactly"
    assert all(cell.outputs for cell in checked), "a checked cell must have an output to compare"


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_runs_its_own_sandbox_through_public_calls_and_guards_the_real_account(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    sources = "\n".join(cell.source for cell in _code(nb))
    assert "serve(" in sources
    assert "__enter__" not in sources and "__exit__" not in sources
    assert _code(nb)[-1].source.rstrip().endswith("api.close()"), "the last cell stops the sandbox"
    assert 'os.environ.get("RTK_NOTEBOOK_LIVE") == "1"' in sources, "the real account only on opt-in"
    markdown = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    assert "Using your real account" in markdown
