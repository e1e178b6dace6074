"""tasker's contracts, in the shared/ folder beside the repository (or beside its worktrees)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONTRACTS = next(
    (folder / "shared" / "contracts" for folder in (REPO.parent, REPO.parent.parent)
     if (folder / "shared" / "contracts").is_dir()),
    REPO.parent / "shared" / "contracts",
)
ORCHESTRATION_OPENAPI = CONTRACTS / "tasker-orchestration-openapi.json"
"""tasker-core's orchestration API (OpenAPI 3.1)."""
TASKER_CORE = CONTRACTS / "tasker-core"
"""tasker-core's migrations, configuration, templates and docs, as test fixtures."""
