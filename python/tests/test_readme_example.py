"""The pytest example of both READMEs, run as pasted (through the installed plugin)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
MARKER = "<!-- tested: python/tests/test_readme_example.py runs this block as pasted -->"


def example_in(readme: Path) -> str:
    """The python block right after the marker line."""
    found = re.search(re.escape(MARKER) + r"\n```python\n(.*?)\n```\n", readme.read_text(), re.DOTALL)
    assert found, f"{readme} has no example after {MARKER!r}"
    return found.group(1)


def test_both_readmes_show_the_same_example() -> None:
    assert example_in(REPOSITORY / "README.md") == example_in(REPOSITORY / "python" / "README.md")


def test_the_readme_example_passes_as_pasted(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_provisioning=example_in(REPOSITORY / "README.md"))
    pytester.runpytest_subprocess().assert_outcomes(passed=1)
