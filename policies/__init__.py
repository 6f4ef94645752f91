"""The covenant documents, as agreed by the parties; shipped with the package and reviewed like code."""

from pathlib import Path

POLICIES_DIR = Path(__file__).resolve().parent
MODEL_COVENANT = POLICIES_DIR / "model-covenant.toml"
DEMO_REGION = POLICIES_DIR / "demo-region.toml"
