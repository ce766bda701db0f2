"""JSON Schemas of the YAML files, for editors with yaml-language-server (checked fresh by a test)."""
from __future__ import annotations

import json
from pydantic import BaseModel, create_model

from runbook_engine.model.loader import GUIDE_FILES
from runbook_engine.model.schema import Family, InventoryExamples, SiteLabels


def schema_name(section: str) -> str:
    """The name of a guide section's schema (``guide-meta`` for guide.yaml, ``guide-<section>``)."""
    return "guide-meta" if section == "meta" else f"guide-{section}"


def schema_file(section: str) -> str:
    return f"{schema_name(section)}.schema.json"


def schemas() -> dict[str, dict]:
    out: dict[str, dict] = {"family": Family.model_json_schema(), "site": SiteLabels.model_json_schema(),
                            "inventory-examples": InventoryExamples.model_json_schema()}
    for fname, (section, spec) in GUIDE_FILES.items():
        if isinstance(spec, tuple):
            key, item = spec
            model: type[BaseModel] = create_model(f"{section.title()}File", **{key: (list[item], ...)})
        else:
            model = spec
        out[schema_name(section)] = model.model_json_schema()
    return out


def render() -> dict[str, str]:
    return {f"{name}.schema.json": json.dumps(s, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
            for name, s in schemas().items()}
