"""One way to render bulletins and the simulation's summary: jinja2 templates shipped in a package, HTML escaped."""

from __future__ import annotations

import jinja2


def templates(package: str) -> jinja2.Environment:
    """The `templates/` folder of `package`; HTML autoescaped, whitespace as written."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader(package, "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
