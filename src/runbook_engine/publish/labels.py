"""The site's own UI texts that kb/site.yaml does not hold yet (the 404 page). kb/ was frozen
while they were written; their home is kb/site.yaml's ``labels``, and they move there as they are.

:func:`label` reads kb/site.yaml first and falls back to these, so a label moved into kb/ takes
over at once; ``tests/test_site_build.py`` fails while an id is in both places (the copy here is
then removed) and checks these texts with the rules of every kb/ text (``model.schema.Text``, no
Japanese on the English side).
"""
from __future__ import annotations

from runbook_engine.model.schema import KnowledgeBase, Text

SITE_LABELS: dict[str, Text] = {
    # the 404 page (overrides/404.html), one per language
    "not-found-title": Text(ja="ページが見つかりません", en="Page not found"),
    "not-found-text": Text(
        ja="お探しのページは見つかりませんでした。アドレスが正しいか確かめるか、ホームのガイド一覧または検索からページを探してください。",
        en="There is no page at this address. Check the address, or find the page from the list "
           "of guides on the home page or with the search.",
    ),
    "not-found-home": Text(ja="ホームのガイド一覧へ", en="Go to the list of guides"),
}


def label(kb: KnowledgeBase, label_id: str) -> Text:
    """The label *label_id*: kb/site.yaml's, else the site's own (above); an id in neither is
    kb's error (kb/site.yaml:1 names it)."""
    if label_id in kb.site.labels or label_id not in SITE_LABELS:
        return kb.label(label_id)
    return SITE_LABELS[label_id]
