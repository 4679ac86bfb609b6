"""Text from run tags made inert for the files people open: Markdown and spreadsheets.

Tags are whatever a config or a command line said (a method name, a variant, a
dataset version), so README.md must not turn one into a live link or image, and
a spreadsheet opening leaderboard.csv must not run one as a formula. index.html
escapes with ``html.escape`` where it is written.
"""

from __future__ import annotations

import html
import re

# Markdown marks that would make run-tag text a link, an image, code or emphasis, or end a
# table cell; an underscore inside a word (``m2e_recall@5``) emphasises nothing in GFM
_MD_MARKS = re.compile(r"[\\`*\[\]!|~]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")


def md_text(text: object) -> str:
    """Text from run tags as inert Markdown: a tag like ``[x](http://evil)`` must not
    become a live link (or image) in README.md, nor ``a|b`` split a table cell.

    HTML is escaped as in index.html, Markdown marks get a backslash and line breaks
    become spaces, so the text reads as written and stays on its one line."""
    flat = " ".join(str(text).splitlines())
    return _MD_MARKS.sub(lambda m: "\\" + m.group(0), html.escape(flat, quote=False))


# a cell a spreadsheet would run as a formula (OWASP's CSV-injection list) ...
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# ... unless it is a plain number such as -0.25, which must stay a number
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?inf")


def csv_text(cell: str) -> str:
    """``cell`` safe to open in a spreadsheet: a run tag such as ``=HYPERLINK(...)`` gets
    a leading single quote (shown as text, run as nothing); numbers are left as they are."""
    if cell.startswith(_FORMULA_START) and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell
