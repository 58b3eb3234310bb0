"""The client list's rows are drawn by the "jinja2" engine (licensing/templating.py) through
`{% jinja2_include %}`: what it prints is escaped as in Django templates, and only the values
handed to it are seen."""

from __future__ import annotations

from django.template import Context, Template

ROW = {
    "pk": 7,
    "hostname": "pc-1",
    "fqdn": "pc-1.<b>corp</b>.test",
    "detail_url": "/clients/7/",
    "select_label": 'Select "pc-1"',
    "retired": False,
    "stale_title": "",
    "flag": "ok",
    "flag_label": "OK",
    "flag_reason": "<script>alert(1)</script>",
    "state_label": "Licensed",
    "edition": "Office & <i>Visio</i>",
    "method_label": "KMS",
    "via": "",
    "last_renewal": None,
    "deadline": {"iso": "2026-12-01T00:00:00+00:00", "short": "01/12/2026"},
    "flag_from_own_report": False,
}

TAG = (
    "{% load jinja2_parts %}"
    '{% jinja2_include "licensing/partials/_client_rows.html" rows=rows selectable=selectable %}'
)


def render(**context) -> str:  # type: ignore[no-untyped-def]
    return Template(TAG).render(Context(context))


def test_what_the_rows_print_is_escaped():
    html = render(rows=[ROW], selectable=True)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Office &amp; &lt;i&gt;Visio&lt;/i&gt;" in html
    assert "pc-1.&lt;b&gt;corp&lt;/b&gt;.test" in html
    assert 'aria-label="Select &#34;pc-1&#34;"' in html
    assert '<time datetime="2026-12-01T00:00:00+00:00">01/12/2026</time>' in html


def test_the_tick_box_only_when_selectable():
    assert 'name="ids" value="7"' in render(rows=[ROW], selectable=True)
    assert 'name="ids"' not in render(rows=[ROW], selectable=False)
    # The page's own variables are not seen unless handed over.
    assert 'name="ids"' not in Template(
        "{% load jinja2_parts %}{% jinja2_include 'licensing/partials/_client_rows.html' rows=rows %}"
    ).render(Context({"rows": [ROW], "selectable": True}))


def test_no_rows_draw_nothing():
    assert render(rows=[], selectable=True).strip() == ""
