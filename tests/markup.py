"""Checks of markup as served, shared by the page and fragment tests."""

from __future__ import annotations

from html.parser import HTMLParser

# Elements whose end tag HTML requires (unlike li, tr, td, p, option, thead or tbody).
_CLOSED_ELEMENTS = frozenset(
    "div span a form table section nav main header footer ul ol details summary label select "  # noqa: SIM905
    "button h1 h2 h3 h4 h5 h6 small strong em code dl".split()
)


class _Balance(HTMLParser):
    """Counts each element's start tags against its end tags in a page as served. A stray or
    missing end tag moves every later block out of (or into) its container, which no browser
    reports: a pool page's cards once fell out of their row this way."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.open: dict[str, int] = {}
        self.stray: dict[str, int] = {}
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in _CLOSED_ELEMENTS:
            self.open[tag] = self.open.get(tag, 0) + 1

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        pass  # <br/>, <input/>: nothing to close

    def handle_endtag(self, tag: str) -> None:
        if tag not in _CLOSED_ELEMENTS:
            return
        if self.open.get(tag):
            self.open[tag] -= 1
        else:
            self.stray[tag] = self.stray.get(tag, 0) + 1

    def problems(self) -> list[str]:
        return [f"{n} <{t}> unclosed" for t, n in sorted(self.open.items()) if n] + [
            f"{n} stray </{t}>" for t, n in sorted(self.stray.items())
        ]


def unbalanced_tags(html: str) -> list[str]:
    """What is unclosed or closed once too often in `html` (empty when balanced)."""
    return _Balance(html).problems()
