"""Griffe extension of the API reference: docstrings written for numpydoc read well in Markdown.

- cimkit's docstrings name other objects with Sphinx roles (:func:`read_ifc`,
  :class:`~cimkit.model.CityModel`), which Markdown does not know. Each role is rewritten into an
  optional cross-reference resolved in the scope of the documented object: a link where the
  target is documented, plain code otherwise (an optional reference never fails the strict
  build). ``~`` shows the last name only.
- A doctest outside an ``Examples`` section (a module docstring's short example) would read as
  nested quotes; it is fenced as a Python console block.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

_ROLE = re.compile(
    r":(?:py:)?(?:func|meth|class|mod|data|attr|exc|obj|const):`(?P<tilde>~?)(?P<target>[^`]+)`"
)


def _identifier(obj: griffe.Object, target: str) -> str:
    if target.startswith("cimkit"):
        return target
    head, _, rest = target.partition(".")
    scopes = [obj, *([] if obj.parent is None else [obj.parent])]
    for scope in scopes:
        try:
            resolved = scope.resolve(head)
        except Exception:  # not known in this scope: try the next one
            continue
        return f"{resolved}.{rest}" if rest else resolved
    return target


def _rewrite(obj: griffe.Object, text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        target = match["target"].rstrip("()")
        shown = target.rsplit(".", 1)[-1] if match["tilde"] else target
        if match.group(0).startswith((":func:", ":meth:", ":py:func:", ":py:meth:")):
            shown += "()"
        identifier = html.escape(_identifier(obj, target), quote=True)
        return f'<autoref identifier="{identifier}" optional><code>{html.escape(shown)}</code></autoref>'

    return _ROLE.sub(replace, text)


_SECTION_RULE = re.compile(r"^\s*-{3,}\s*$")


def _fence_doctests(text: str) -> str:
    lines = text.splitlines()
    out: list[str] = []
    in_examples = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if i + 1 < len(lines) and _SECTION_RULE.match(lines[i + 1]) and line.strip():
            in_examples = line.strip() == "Examples"
        if not in_examples and line.lstrip().startswith(">>>"):
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i])
                i += 1
            out += ["```pycon", *block, "```"]
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def _walk(obj: griffe.Object) -> None:
    if obj.docstring is not None:
        text = obj.docstring.value
        if ":" in text:
            text = _rewrite(obj, text)
        if ">>>" in text:
            text = _fence_doctests(text)
        obj.docstring.value = text
    for member in obj.members.values():
        if not member.is_alias:
            _walk(member)  # type: ignore[arg-type]


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx-style roles of every docstring into optional cross-references."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        """Rewrite the roles of every docstring once the whole package is loaded."""
        _walk(pkg)
