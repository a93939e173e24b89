"""A plain, readable report: one HTML page and the same text as Markdown.

Written for residents as well as experts: large type, high contrast, headings in order, every
figure with a text alternative, numbers with their units, and tables with captions. Written
atomically.
"""

from __future__ import annotations

import base64
import html
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from cimkit._atomic import write_bytes_atomic, write_text_atomic

__all__ = ["Report"]

_CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; font-size: 19px;
       line-height: 1.55; color: #111; background: #fff; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 2rem; } h2 { font-size: 1.5rem; border-bottom: 2px solid #333; margin-top: 2.2rem; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 1rem; }
caption { text-align: left; font-weight: bold; padding: .3rem 0; }
th, td { border: 1px solid #555; padding: .35rem .6rem; text-align: left; }
th { background: #e8e8e8; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1rem 0; } figcaption { font-size: 1rem; color: #222; }
img { max-width: 100%; height: auto; border: 1px solid #999; }
.note { background: #fff7d6; border-left: 6px solid #b58900; padding: .6rem 1rem; }
"""


@dataclass
class _Section:
    title: str
    blocks: list[tuple[str, Any]] = field(default_factory=list)


class Report:
    """A report of sections holding paragraphs, notes, tables and figures.

    Build it by chaining calls (each adds to the current section and returns the report),
    then write it as one self-contained HTML page (figures embedded) and the same text as
    Markdown with :meth:`write`.

    Parameters
    ----------
    title
        The page title and first heading.
    intro
        A paragraph shown under the title.

    Examples
    --------
    >>> import pandas as pd
    >>> report = Report("Flood risk", intro="What the model says.")
    >>> damage = pd.DataFrame({"ead_eur": [120.5, 0.0]}, index=pd.Index(["A", "B"], name="building_id"))
    >>> _ = report.section("Buildings").text("One building floods.").table(damage, "Expected annual damage")
    >>> print(report.to_markdown())
    # Flood risk
    <BLANKLINE>
    What the model says.
    <BLANKLINE>
    ## Buildings
    <BLANKLINE>
    One building floods.
    <BLANKLINE>
    **Expected annual damage**
    <BLANKLINE>
    | building_id | ead_eur |
    |---|---|
    | A | 120.5 |
    | B | 0.0 |
    <BLANKLINE>
    >>> "<caption>Expected annual damage</caption>" in report.to_html()
    True
    """

    def __init__(self, title: str, *, intro: str = "") -> None:
        self.title = title
        self.intro = intro
        self.sections: list[_Section] = []

    def section(self, title: str) -> Report:
        """Start a new section; what follows is added to it.

        Parameters
        ----------
        title
            The section heading.

        Returns
        -------
        Report
            The report itself, for chaining.

        Examples
        --------
        >>> report = Report("Heat").section("Streets").text("Most streets are shaded.")
        >>> print(report.section("Parks").text("Two parks stay cool.").to_markdown())
        # Heat
        <BLANKLINE>
        ## Streets
        <BLANKLINE>
        Most streets are shaded.
        <BLANKLINE>
        ## Parks
        <BLANKLINE>
        Two parks stay cool.
        <BLANKLINE>
        """
        self.sections.append(_Section(title))
        return self

    def _current(self) -> _Section:
        if not self.sections:
            self.section("Results")
        return self.sections[-1]

    def text(self, paragraph: str) -> Report:
        """Add a paragraph of plain text (escaped in HTML) to the current section.

        Parameters
        ----------
        paragraph
            The text.

        Returns
        -------
        Report
            The report itself, for chaining.

        Examples
        --------
        Without a section, text goes to a "Results" section; HTML special characters are
        escaped:

        >>> report = Report("Noise").text("Night levels < 55 dB on most streets.")
        >>> report.to_markdown().splitlines()
        ['# Noise', '', '## Results', '', 'Night levels < 55 dB on most streets.']
        >>> "<p>Night levels &lt; 55 dB on most streets.</p>" in report.to_html()
        True
        """
        self._current().blocks.append(("text", paragraph))
        return self

    def note(self, paragraph: str) -> Report:
        """Add a highlighted note (a caveat, a limit of the data) to the current section.

        Parameters
        ----------
        paragraph
            The text of the note; a block quote in Markdown.

        Returns
        -------
        Report
            The report itself, for chaining.

        Examples
        --------
        >>> report = Report("Solar").note("Roof slopes are estimated from building heights.")
        >>> report.to_markdown().splitlines()[-1]
        '> Roof slopes are estimated from building heights.'
        >>> "<p class='note'>Roof slopes" in report.to_html()
        True
        """
        self._current().blocks.append(("note", paragraph))
        return self

    def table(self, frame: pd.DataFrame, caption: str, *, floatfmt: str = "{:,.1f}") -> Report:
        """Add a table with a caption to the current section.

        Parameters
        ----------
        frame
            The table; a named index is shown as the first column. Name the columns with their
            units (``ead_eur``, ``area_m2``).
        caption
            The table caption.
        floatfmt
            The format of float cells (``str.format`` syntax); missing values show as a dash.

        Returns
        -------
        Report
            The report itself, for chaining.

        Examples
        --------
        A named index becomes the first column; a missing value shows as a dash:

        >>> import pandas as pd
        >>> areas = pd.DataFrame({"area_m2": [1234.4, float("nan")]},
        ...                      index=pd.Index(["A", "B"], name="building_id"))
        >>> report = Report("Buildings").table(areas, "Floor area", floatfmt="{:,.0f}")
        >>> print(report.to_markdown())
        # Buildings
        <BLANKLINE>
        ## Results
        <BLANKLINE>
        **Floor area**
        <BLANKLINE>
        | building_id | area_m2 |
        |---|---|
        | A | 1,234 |
        | B | – |
        <BLANKLINE>
        >>> "<caption>Floor area</caption>" in report.to_html()
        True
        """
        self._current().blocks.append(("table", (frame, caption, floatfmt)))
        return self

    def figure(
        self, fig: Any, alt: str, caption: str, *, path: str | os.PathLike[str] | None = None
    ) -> Report:
        """Add a matplotlib figure with its text alternative and caption to the current section.

        Parameters
        ----------
        fig
            A matplotlib ``Figure``, saved as PNG (110 dpi) and embedded in the HTML page.
        alt
            The text alternative read by screen readers: say what the figure shows.
        caption
            The visible caption.
        path
            Where to also write the PNG (atomically); the Markdown links to its file name.
            Without it the Markdown shows the caption only.

        Returns
        -------
        Report
            The report itself, for chaining.

        Examples
        --------
        A small bar chart (a bare matplotlib ``Figure`` draws with Agg, no window), also written
        as a PNG that the Markdown links to:

        >>> import pathlib, tempfile
        >>> from matplotlib.figure import Figure
        >>> fig = Figure(figsize=(2, 1.5))
        >>> _ = fig.subplots().bar(["A", "B"], [120.5, 0.0])
        >>> png = pathlib.Path(tempfile.mkdtemp()) / "damage.png"
        >>> report = Report("Flood risk").figure(fig, "Bars: A loses 120.5 EUR a year, B nothing.",
        ...                                      "Expected annual damage", path=png)
        >>> page = report.to_html()
        >>> "<img src='data:image/png;base64," in page, "alt='Bars: A loses 120.5 EUR" in page
        (True, True)
        >>> report.to_markdown().splitlines()[4:7], png.exists()
        (['![Bars: A loses 120.5 EUR a year, B nothing.](damage.png)', '', '*Expected annual damage*'], True)
        """
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
        png = buffer.getvalue()
        if path is not None:
            write_bytes_atomic(path, png)
        self._current().blocks.append(
            ("figure", (png, alt, caption, None if path is None else Path(path).name))
        )
        return self

    # -- output ---------------------------------------------------------------
    def to_html(self) -> str:
        """Format the report as one self-contained, accessible HTML page.

        Returns
        -------
        str
            The page: large type, high contrast, ordered headings, captions on tables and
            text alternatives on figures (embedded as PNG data).

        Examples
        --------
        >>> page = Report("Trees & shade", intro="Where trees cool the streets.").to_html()
        >>> page.startswith("<!doctype html><html lang='en'>")
        True
        >>> page[page.index("<h1>"):]
        '<h1>Trees &amp; shade</h1><p>Where trees cool the streets.</p></main></body></html>'
        """
        esc = html.escape
        parts = [
            f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{esc(self.title)}</title><style>{_CSS}</style></head><body><main>",
            f"<h1>{esc(self.title)}</h1>",
        ]
        if self.intro:
            parts.append(f"<p>{esc(self.intro)}</p>")
        for sec in self.sections:
            parts.append(f"<section><h2>{esc(sec.title)}</h2>")
            for kind, value in sec.blocks:
                if kind == "text":
                    parts.append(f"<p>{esc(value)}</p>")
                elif kind == "note":
                    parts.append(f"<p class='note'>{esc(value)}</p>")
                elif kind == "table":
                    frame, caption, floatfmt = value
                    parts.append(_html_table(frame, caption, floatfmt))
                elif kind == "figure":
                    png, alt, caption, _ = value
                    data = base64.b64encode(png).decode("ascii")
                    parts.append(
                        f"<figure><img src='data:image/png;base64,{data}' alt='{esc(alt)}'>"
                        f"<figcaption>{esc(caption)}</figcaption></figure>"
                    )
            parts.append("</section>")
        parts.append("</main></body></html>")
        return "".join(parts)

    def to_markdown(self) -> str:
        """Format the report as Markdown, with the same text as the HTML page.

        Returns
        -------
        str
            The Markdown text; figures are linked by file name when written with a ``path``.

        Examples
        --------
        >>> report = Report("Accessibility", intro="Walking times to schools.")
        >>> print(report.section("Schools").note("Walking speed 4.8 km/h.").to_markdown())
        # Accessibility
        <BLANKLINE>
        Walking times to schools.
        <BLANKLINE>
        ## Schools
        <BLANKLINE>
        > Walking speed 4.8 km/h.
        <BLANKLINE>
        """
        lines = [f"# {self.title}", ""]
        if self.intro:
            lines += [self.intro, ""]
        for sec in self.sections:
            lines += [f"## {sec.title}", ""]
            for kind, value in sec.blocks:
                if kind in ("text", "note"):
                    lines += [("> " if kind == "note" else "") + value, ""]
                elif kind == "table":
                    frame, caption, floatfmt = value
                    lines += [f"**{caption}**", "", _markdown_table(frame, floatfmt), ""]
                elif kind == "figure":
                    _, alt, caption, name = value
                    if name:
                        lines += [f"![{alt}]({name})", ""]
                    lines += [f"*{caption}*", ""]
        return "\n".join(lines)

    def write(self, folder: str | os.PathLike[str], *, stem: str = "report") -> tuple[Path, Path]:
        """Write ``<stem>.html`` and ``<stem>.md`` into ``folder``, each atomically.

        Parameters
        ----------
        folder
            An existing folder.
        stem
            The file name without suffix.

        Returns
        -------
        tuple of pathlib.Path
            The HTML and the Markdown file.

        Examples
        --------
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> html_path, md_path = Report("Flood risk").text("One building floods.").write(folder, stem="flood")
        >>> html_path.name, md_path.name
        ('flood.html', 'flood.md')
        >>> md_path.read_text(encoding="utf-8").splitlines()[-1]
        'One building floods.'
        """
        folder = Path(folder)
        html_path, md_path = folder / f"{stem}.html", folder / f"{stem}.md"
        write_text_atomic(html_path, self.to_html())
        write_text_atomic(md_path, self.to_markdown())
        return html_path, md_path


def _fmt(value: Any, floatfmt: str) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "–"
    if isinstance(value, float):
        return floatfmt.format(value)
    return str(value)


def _html_table(frame: pd.DataFrame, caption: str, floatfmt: str) -> str:
    esc = html.escape
    frame = frame.reset_index() if frame.index.name is not None else frame
    head = "".join(f"<th scope='col'>{esc(str(c))}</th>" for c in frame.columns)
    rows = []
    for row in frame.itertuples(index=False):
        cells = "".join(
            f"<td class='num'>{esc(_fmt(v, floatfmt))}</td>"
            if isinstance(v, (int, float)) and not isinstance(v, bool)
            else f"<td>{esc(_fmt(v, floatfmt))}</td>"
            for v in row
        )
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><caption>{esc(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _markdown_table(frame: pd.DataFrame, floatfmt: str) -> str:
    frame = frame.reset_index() if frame.index.name is not None else frame
    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    sep = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(_fmt(v, floatfmt) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, sep, *body])
