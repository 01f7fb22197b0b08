"""The project's docs say what the code does."""

from __future__ import annotations

from pathlib import Path

from resilientcity.summary import summary_markdown
from resilientcity.twin.schema import contract_markdown

ROOT = Path(__file__).parents[1]


def test_data_contract_doc_is_generated_from_the_schema() -> None:
    assert (ROOT / "docs" / "data-contract.md").read_text("utf-8") == contract_markdown(), (
        "docs/data-contract.md is stale: regenerate it with "
        'python -c "from resilientcity.twin.schema import contract_markdown; '
        "open('docs/data-contract.md', 'w').write(contract_markdown())\""
    )


def test_summary_doc_is_generated_from_the_typed_results() -> None:
    assert (ROOT / "docs" / "summary.md").read_text("utf-8") == summary_markdown(), (
        "docs/summary.md is stale: regenerate it with "
        'python -c "from resilientcity.summary import summary_markdown; '
        "open('docs/summary.md', 'w').write(summary_markdown())\""
    )


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    assert "make test" in readme and "make demo" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text("utf-8")
