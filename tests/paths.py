"""Where the tests find the repository's files and the shared data."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INSTANCES = ROOT / "instances"
FIXTURES = ROOT / "tests" / "fixtures"
SHARED_DATA = Path(os.environ.get("PLACEMENT_OPT_SHARED_DATA", ROOT.parent / "shared" / "data"))
