"""The tag balance check that every page and fragment goes through (tests/markup.py) finds what
it should: a stray or missing end tag, and nothing inside a script or in optional end tags."""

from __future__ import annotations

from tests.markup import unbalanced_tags


def test_a_stray_and_a_missing_end_tag_are_reported():
    html = '<div class="row"><div class="col"><span>4</span></span></div></div></div><form>'
    assert unbalanced_tags(html) == ["1 <form> unclosed", "1 stray </div>", "1 stray </span>"]


def test_scripts_void_elements_and_optional_end_tags_are_not_counted():
    html = (
        '<script>if (a < b) { x.innerHTML = "</div>"; }</script><br><input name="q"/>'
        "<table><tbody><tr><td>1<td>2</table><ul><li>one<li>two</ul><p>text"
    )
    assert unbalanced_tags(html) == []
