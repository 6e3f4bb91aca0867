"""Golden files: a fixture `X` sits beside `X.expected.json`, the parsed documents as JSON.

A mismatch fails with a unified diff. Regenerate on purpose only: `POGUARD_REGEN_GOLDEN=1 make test`.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

from poguard.domain import ParsedDocument
from poguard.serialize import document_to_dict

__all__ = ["assert_matches_golden", "expected_path"]


def expected_path(fixture: Path) -> Path:
    return fixture.with_name(fixture.name + ".expected.json")


def _render(docs: list[ParsedDocument]) -> str:
    return json.dumps([document_to_dict(doc) for doc in docs], indent=2, ensure_ascii=False) + "\n"


def assert_matches_golden(fixture: Path, docs: list[ParsedDocument]) -> None:
    """Compare the parse of `fixture` with its golden file, or write it when regeneration is asked for."""
    golden = expected_path(fixture)
    actual = _render(docs)
    if os.environ.get("POGUARD_REGEN_GOLDEN") == "1":
        golden.write_text(actual, encoding="utf-8")
        return
    assert golden.exists(), f"{golden} is missing; create it with POGUARD_REGEN_GOLDEN=1 and review it"
    expected = golden.read_text(encoding="utf-8")
    if actual != expected:
        diff = difflib.unified_diff(
            expected.splitlines(keepends=True), actual.splitlines(keepends=True), str(golden), "parsed"
        )
        raise AssertionError("parse differs from golden file:\n" + "".join(diff))
