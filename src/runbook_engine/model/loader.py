"""Load kb/ into the typed model, reporting every error as ``file:line: message``.

The jobs are apart: :mod:`.yamlio` reads YAML keeping lines, :mod:`.validation` maps pydantic's
errors to those lines, :mod:`.xref` checks references between valid objects, :mod:`.cache`
keeps the last result. This module knows the layout of kb/ and chains them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from runbook_engine.model.cache import cached
from runbook_engine.model.errors import KbError, KbInvalid, unknown
from runbook_engine.model.schema import (
    Cautions,
    Errata,
    Dns,
    Family,
    Guide,
    GuideMeta,
    InventoryExamples,
    KnowledgeBase,
    Origin,
    Procedure,
    Monitor,
    Resource,
    ScriptConfig,
    Service,
    SiteLabels,
)
from runbook_engine.model.validation import placeholder_errors, validate, validate_list
from runbook_engine.model.xref import check_family, check_guide, check_inventory_examples, check_translations
from runbook_engine.model.yamlio import LineDict, LineList, locate, read_yaml, rel

__all__ = ["GUIDE_FILES", "OPTIONAL_FILES", "LineDict", "LineList", "load", "load_family", "load_guide", "locate", "read_yaml", "rel"]

# Each file of a guide folder holds one section of the guide.
GUIDE_FILES: dict[str, tuple[str, type[BaseModel] | tuple[str, type[BaseModel]]]] = {
    "guide.yaml": ("meta", GuideMeta),
    "resources.yaml": ("resources", ("resources", Resource)),
    "monitors.yaml": ("monitors", ("monitors", Monitor)),
    "procedure.yaml": ("procedure", Procedure),
    "services.yaml": ("services", ("services", Service)),
    "scripts.yaml": ("scripts", ScriptConfig),
    "dns.yaml": ("dns", Dns),
    "cautions.yaml": ("cautions", Cautions),
    "errata.yaml": ("errata", Errata),
    "origin.yaml": ("origin", Origin),
    "upgrade.yaml": ("upgrade", Procedure),
}
#: A guide has what its application needs: no scripts when the cluster starts services itself
#: (service resources), no DNS records when clients find the FIP otherwise, no errata when the
#: original had none. The pages, steps and notebooks of a missing section are left out.
OPTIONAL_FILES = {"monitors.yaml", "services.yaml", "scripts.yaml", "dns.yaml", "cautions.yaml", "errata.yaml",
                  "origin.yaml", "upgrade.yaml"}


def load_guide(folder: Path, root: Path) -> tuple[Guide | None, dict[str, Any], list[KbError]]:
    """Load one guide folder. Returns the guide, the raw data per section and the errors."""
    parts: dict[str, Any] = {}
    raws: dict[str, Any] = {}
    errors: list[KbError] = []
    for fname, (section, spec) in GUIDE_FILES.items():
        path = folder / fname
        name = rel(path, root)
        if not path.exists():
            if fname not in OPTIONAL_FILES:
                errors.append(KbError(name, 1, "file is missing"))
            continue
        try:
            data = read_yaml(path, root)
        except KbInvalid as exc:
            errors.extend(exc.errors)
            continue
        raws[section] = (name, data)
        if isinstance(spec, tuple):
            obj, errs = validate_list(data, spec[0], spec[1], name)
        else:
            obj, errs = validate(spec, data, name)
        errors.extend(errs)
        parts[section] = obj
    for extra in sorted(folder.glob("*.y*ml")):
        if extra.name not in GUIDE_FILES:
            errors.append(KbError(rel(extra, root), 1, f"unexpected file in guide folder (expected {', '.join(GUIDE_FILES)})"))
    if errors:
        return None, raws, errors
    guide = Guide.model_construct(**parts)  # sections are already validated
    return guide, raws, []


def _families(root: Path) -> tuple[dict[str, Family], list[tuple[str, Any]], list[KbError]]:
    """Every file of kb/family/: one product family each (CLUSTERPRO X for Windows, for Linux)."""
    fam_files = sorted((root / "family").glob("*.yaml"))
    if not fam_files:
        return {}, [], [KbError(rel(root / "family", root), 1, "no family file (kb/family/<id>.yaml)")]
    families: dict[str, Family] = {}
    parsed: list[tuple[str, Any]] = []
    errors: list[KbError] = []
    for path in fam_files:
        name = rel(path, root)
        try:
            raw = read_yaml(path, root)
        except KbInvalid as exc:
            errors.extend(exc.errors)
            continue
        parsed.append((name, raw))
        family, errs = validate(Family, raw, name)
        if family is not None:
            errs = errs + check_family(family, raw, name)
            if family.id != path.stem:
                errs.append(KbError(name, locate(raw, ("id",)), f"id: family id '{family.id}' must equal its file name '{path.stem}'"))
            families[family.id] = family
        errors.extend(errs)
    return families, parsed, errors


def load_family(root: Path | str = "kb", family_id: str | None = None) -> Family:
    """One product family alone (for tools that must work while a guide is still being written):
    *family_id*, or the first in file order."""
    families, _, errors = _families(Path(root))
    if errors or not families:
        raise KbInvalid(errors)
    if family_id is None:
        return next(iter(families.values()))
    if family_id not in families:
        raise KbInvalid([KbError(rel(Path(root) / "family", Path(root)), 1,
                                 unknown("family", family_id, families))])
    return families[family_id]


def load(root: Path | str = "kb") -> KnowledgeBase:
    """Load and check the whole knowledge base (cached until a file changes).
    Raises KbInvalid with every error found."""
    root = Path(root)
    if root.is_dir():
        return cached(root, _load)
    return _load(root)


def _load(root: Path) -> KnowledgeBase:
    errors: list[KbError] = []
    parsed: list[tuple[str, Any]] = []  # (file, raw data) of every file read, for the text checks
    if not root.is_dir():
        raise KbInvalid([KbError(str(root), 1, "knowledge base folder not found")])

    families, fam_parsed, errs = _families(root)
    parsed.extend(fam_parsed)
    errors.extend(errs)
    families_ok = not errs

    site = None
    site_path = root / "site.yaml"
    try:
        site_raw = read_yaml(site_path, root) if site_path.exists() else None
        if site_raw is None:
            errors.append(KbError(rel(site_path, root), 1, "file is missing"))
        else:
            parsed.append((rel(site_path, root), site_raw))
            site, errs = validate(SiteLabels, site_raw, rel(site_path, root))
            errors.extend(errs)
    except KbInvalid as exc:
        errors.extend(exc.errors)

    guides: dict[str, Guide] = {}
    for folder in sorted(p for p in (root / "guides").iterdir() if p.is_dir()) if (root / "guides").is_dir() else []:
        guide, raws, errs = load_guide(folder, root)
        parsed.extend(raws.values())
        errors.extend(errs)
        if guide is not None:
            if guide.meta.id != folder.name:
                name, raw = raws["meta"]
                errors.append(KbError(name, locate(raw, ("id",)), f"id: guide id '{guide.meta.id}' must equal its folder name '{folder.name}'"))
            family = families.get(guide.meta.family)
            if family is not None:
                errors.extend(check_guide(guide, raws, family))
            elif families_ok:
                name, raw = raws["meta"]
                errors.append(KbError(name, locate(raw, ("family",)), "family: " + unknown("family", guide.meta.family, families)))
            guides[guide.meta.id] = guide

    if site is not None and site.default_guide not in guides and not errors:
        errors.append(KbError(rel(site_path, root), locate(site_raw, ("default_guide",)),
                              "default_guide: " + unknown("guide", site.default_guide, guides)))

    inventories, inventory_files, raws, errs = _inventory_examples(root)
    parsed.extend(raws)
    errors.extend(errs)

    for name, raw in parsed:
        errors.extend(placeholder_errors(raw, name))
    if families_ok and site is not None:  # (the proper nouns are the families')
        nouns = [n for f in families.values() for n in f.proper_nouns]
        errors.extend(check_translations(parsed, nouns))

    if errors:
        raise KbInvalid(errors)
    return KnowledgeBase(families=families, guides=guides, site=site, inventories=inventories,
                         inventory_files=inventory_files)


#: Where the example inventories of real clusters live, and the file that lists and explains them.
INVENTORIES_DIR = "inventories"
INVENTORY_EXAMPLES = "examples.yaml"


def _inventory_examples(root: Path) -> tuple[InventoryExamples | None, dict[str, str], list[tuple[str, Any]], list[KbError]]:
    """kb/inventories/: examples.yaml (validated) and the text of each example inventory it
    lists. The inventories themselves are the engine's format: the engine's loader checks them
    (a test loads every one); here each must exist, parse safely and be listed."""
    folder = root / INVENTORIES_DIR
    path = folder / INVENTORY_EXAMPLES
    if not path.exists():
        return None, {}, [], []
    name = rel(path, root)
    try:
        raw = read_yaml(path, root)
    except KbInvalid as exc:
        return None, {}, [], exc.errors
    examples, errors = validate(InventoryExamples, raw, name)
    if examples is None:
        return None, {}, [(name, raw)], errors
    present = {p.name for p in folder.glob("*.yaml")} - {INVENTORY_EXAMPLES}
    errors += check_inventory_examples(examples, raw, name, present)
    texts: dict[str, str] = {}
    for ex in examples.examples:
        if ex.file in present:
            try:
                read_yaml(folder / ex.file, root)  # the same safe parse as every kb/ file
            except KbInvalid as exc:
                errors.extend(exc.errors)
                continue
            texts[ex.file] = (folder / ex.file).read_text(encoding="utf-8")
    for extra in sorted(present - {ex.file for ex in examples.examples}):
        errors.append(KbError(rel(folder / extra, root), 1, f"example inventory not listed in {name}"))
    return examples, texts, [(name, raw)], errors
