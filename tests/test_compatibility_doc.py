"""docs/inngest-compatibility.md names the test covering each wire element: they exist."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "inngest-compatibility.md"


def test_every_named_test_exists() -> None:
    text = DOC.read_text()
    named = re.findall(r"`([\w/]+\.py)(?:::([\w*]+))?", text)
    assert len(named) > 40
    for path, test in named:
        source = ROOT / "tests" / path
        assert source.is_file(), f"{path} (in {DOC.name}) does not exist"
        if test:
            names = re.findall(r"^(?:async )?def (test_\w+)", source.read_text(), re.M)
            assert fnmatch.filter(names, test), f"{path}::{test} (in {DOC.name}) does not exist"
