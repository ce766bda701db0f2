"""The site's own UI texts that kb/site.yaml does not hold yet (the 404 page, the case tables'
shared commands). kb/ was frozen
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
    # case tables: a run of commands that several cases run in the same order, listed once
    "case-shared-intro": Text(
        ja="複数のケースが同じ順に実行するコマンドは、表の前に「共通のコマンド」として一度だけ示します。"
           "表の各行には、そのケースで実行されるコマンドを実行順に示し、共通のコマンドはその名前で示します。",
        en="Commands that several cases run in the same order are listed once before the table as "
           "shared commands. Each row lists the commands its case runs, in order, and names the "
           "shared commands where it runs them.",
    ),
    "case-shared": Text(ja="共通のコマンド {n}", en="Shared commands {n}"),
    "case-shared-size": Text(ja="{cases} ケースで実行される {count} 個のコマンド", en="{count} commands run in {cases} cases"),
    "case-shared-count": Text(ja="{count} 個", en="{count} commands"),
}


def label(kb: KnowledgeBase, label_id: str) -> Text:
    """The label *label_id*: kb/site.yaml's, else the site's own (above); an id in neither is
    kb's error (kb/site.yaml:1 names it)."""
    if label_id in kb.site.labels or label_id not in SITE_LABELS:
        return kb.label(label_id)
    return SITE_LABELS[label_id]
