"""CSRF tokens of the Review UI (plugins/nicheflow_airflow/csrf.py), without the stack: a token belongs to one
login session, anything else is refused, and every POST form of the templates carries it (the refusals on the
real stack are in test_review_api.py)."""

from __future__ import annotations

import re
import sys

from pipelines.paths import REPO

sys.path.insert(0, str(REPO / "plugins"))

from nicheflow_airflow import csrf  # noqa: E402

TEMPLATES = REPO / "plugins" / "nicheflow_airflow" / "templates"


def test_a_token_belongs_to_one_session():
    mine, other = "header.mine.sig", "header.other.sig"
    token = csrf.token_for(mine)
    assert len(token) == 64 and token == csrf.token_for(mine) and token != csrf.token_for(other)
    assert csrf.valid(mine, token)
    for sent in (csrf.token_for(other), "", None, token.upper(), token[:-1], 12345, [token]):
        assert not csrf.valid(mine, sent), sent
    assert not csrf.valid(None, token) and not csrf.valid("", csrf.token_for(""))


def test_every_post_form_carries_the_token():
    forms = []
    for path in TEMPLATES.glob("*.html"):
        html = path.read_text(encoding="utf-8")
        for m in re.finditer(r'<form\b[^>]*method="post"[^>]*>(.*?)</form>', html, re.S | re.I):
            forms.append(path.name)
            assert '{% include "_csrf.html" %}' in m.group(1), (path.name, m.group(0)[:120])
    assert sorted(forms) == ["attention.html", "attention.html", "checkpoint.html", "checkpoint.html"]
