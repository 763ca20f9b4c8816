"""The plain-text part of an email, read from its HTML when the author wrote none.

Mail clients that show text (and spam filters that compare both parts) want words, line
breaks where the HTML has blocks, and the address behind each link, since a reader of the
text part cannot click "Shop now". So:

- paragraphs, headings, list items, table rows and ``<br>`` become line breaks (one blank
  line between paragraphs at most); list items start with ``- ``; ``<hr>`` is a rule;
- a link is its words followed by its address in parentheses, unless the words are the
  address; an image is its ``alt`` text;
- ``<head>``, ``<style>``, ``<script>``, ``<template>`` and anything hidden with
  ``display:none`` (an email's preheader) are left out; ``<pre>`` keeps its line breaks;
- entities are decoded, runs of spaces collapse as a browser would, but a non-breaking
  space (Babel puts one in ``1.234,50 €``) stays.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_SKIPPED = frozenset({"head", "style", "script", "template", "noscript", "title"})
_BLOCKS = frozenset(
    {"address", "article", "aside", "blockquote", "center", "dd", "div", "dl", "dt",
     "fieldset", "figcaption", "figure", "footer", "form", "header", "main", "nav", "ol",
     "section", "table", "tbody", "tfoot", "thead", "tr", "ul"}
)  # fmt: skip
_PARAGRAPHS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table"})
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
     "track", "wbr"}
)  # fmt: skip
_HIDDEN = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden|mso-hide\s*:\s*all", re.I)
#: Collapsible white space in HTML: not the non-breaking space.
_SPACES = re.compile(r"[ \t\n\r\f]+")
_BREAK = 1
_PARAGRAPH = 2


class _TextWriter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        #: Open elements and whether each hides its content.
        self.open: list[tuple[str, bool]] = []
        self.hidden = 0
        self.pre = 0
        self.links: list[tuple[str | None, int]] = []
        self.pending = 0

    # -- writing ---------------------------------------------------------------------

    def write(self, text: str) -> None:
        """Text, after the line breaks waiting for it; white space alone never starts a
        line."""
        if self.hidden or not text:
            return
        if not text.strip(" \n") and (self.pending or not self.out):
            return
        if self.pending and self.out:
            self.out.append("\n" * self.pending)
        self.pending = 0
        self.out.append(text)

    def brk(self, lines: int) -> None:
        """A line break (1) or a paragraph break (2); breaks in a row do not add up."""
        if not self.hidden:
            self.pending = max(self.pending, lines)

    # -- parsing ---------------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        hides = tag in _SKIPPED or bool(_HIDDEN.search(attributes.get("style") or ""))
        hides = hides or "hidden" in attributes
        if tag not in _VOID:
            self.open.append((tag, hides))
            self.hidden += hides
        if tag == "br":
            self.brk(_BREAK)
        elif tag == "hr":
            self.brk(_BREAK)
            self.write("-" * 20)
            self.brk(_BREAK)
        elif tag == "img":
            alt = (attributes.get("alt") or "").strip()
            if alt:
                self.write(f" {alt} ")
        elif tag == "li":
            self.brk(_BREAK)
            self.write("- ")
        elif tag in ("td", "th"):
            self.write(" ")
        elif tag == "a":
            self.links.append((attributes.get("href"), len(self.out)))
        elif tag == "pre":
            self.brk(_PARAGRAPH)
            self.pre += 1
        elif tag in _PARAGRAPHS:
            self.brk(_PARAGRAPH)
        elif tag in _BLOCKS:
            self.brk(_BREAK)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID or not any(name == tag for name, _ in self.open):
            return  # a stray end tag, as browsers ignore it
        while self.open:
            name, hides = self.open.pop()
            self.hidden -= hides
            self._close(name)
            if name == tag:
                break

    def _close(self, tag: str) -> None:
        if tag == "a" and self.links:
            href, start = self.links.pop()
            self._link(href, start)
        elif tag == "pre":
            self.pre -= 1
            self.brk(_PARAGRAPH)
        elif tag in _PARAGRAPHS:
            self.brk(_PARAGRAPH)
        elif tag in _BLOCKS or tag == "li":
            self.brk(_BREAK)

    def _link(self, href: str | None, start: int) -> None:
        href = (href or "").strip()
        if not href or href.startswith(("#", "javascript:")) or self.hidden:
            return
        words = _SPACES.sub(" ", "".join(self.out[start:])).strip()
        address = href.removeprefix("mailto:") if href.startswith("mailto:") else href
        if not words:
            self.write(address)
        elif words.rstrip("/") not in (address.rstrip("/"), address.split("://", 1)[-1]):
            self.write(f" ({address})")

    def handle_data(self, data: str) -> None:
        self.write(data if self.pre else _SPACES.sub(" ", data))

    def text(self) -> str:
        while self.open:
            name, hides = self.open.pop()
            self.hidden -= hides
            self._close(name)
        return _tidy("".join(self.out))


def _tidy(text: str) -> str:
    lines = (re.sub(" {2,}", " ", line).strip(" ") for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


def text_from_html(html: str) -> str:
    """A readable plain-text version of an email's HTML (see the module's docstring)."""
    writer = _TextWriter()
    writer.feed(html)
    writer.close()
    return writer.text()
