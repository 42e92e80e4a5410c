"""A bulletin's PDF, made from its HTML by WeasyPrint: no browser at run time, A4, the shipped CJK font embedded.

WeasyPrint is pure Python over Pango (Debian's libpango-1.0-0 and libpangoft2-1.0-0, which `make pdf-libs`
installs as root); docs/bulletins.md says why it was chosen. The font is the one the charts use
(charts.FONT_FILE), loaded by @font-face from the package, so the PDF looks the same whatever fonts the
machine has; the machine's fonts serve only characters it lacks (an emoji in an address). Only one weight
ships, so nothing asks for bold (Pango would otherwise pick another font).
"""

from __future__ import annotations

import threading

from rectify.bulletins.charts import FONT_FILE

FAMILY = "Rectify SC"
PRINT_CSS = """
@font-face { font-family: "%(family)s"; src: url("%(font)s"); }
@page {
  size: A4;
  margin: 24mm 20mm 22mm 20mm;
  @bottom-center {
    content: "— " counter(page) " —";
    font-family: "%(family)s"; font-size: 9pt; color: #444;
  }
}
html, body, h1, h2, h3, p, table, th, td, code, small, figcaption {
  font-family: "%(family)s", "Noto Sans CJK SC", "DejaVu Sans", sans-serif !important;
}
* { font-weight: normal !important; font-style: normal !important; }
body { margin: 0; max-width: none; font-size: 10.5pt; line-height: 1.6; }
table { width: 100%%; font-size: 8pt; line-height: 1.35; page-break-inside: auto; }
tr { page-break-inside: avoid; }
th, td { padding: 1.5pt 2.5pt; }
code { font-size: 7pt; word-break: break-all; }
h2 { page-break-after: avoid; }
img.chart { width: 100%%; }
.footnote { font-size: 8.5pt; }
"""


#: One PDF at a time: WeasyPrint does not promise to be safe across threads, and callers use asyncio.to_thread.
_LOCK = threading.Lock()


class PdfUnavailable(RuntimeError):
    """WeasyPrint cannot load Pango on this machine; the message names the Debian packages to install."""


def html_to_pdf(html: str) -> bytes:
    """The PDF of a self-contained HTML document (images as data: URLs); the same HTML gives the same bytes."""
    try:
        import weasyprint
        from weasyprint.text.fonts import FontConfiguration
    except OSError as error:  # cffi could not open libpango / libpangoft2
        raise PdfUnavailable(
            "making a bulletin's PDF needs Pango: apt-get install libpango-1.0-0 libpangoft2-1.0-0 "
            f"(`make pdf-libs` as root) ({error})"
        ) from error
    with _LOCK:
        fonts = FontConfiguration()
        css = weasyprint.CSS(string=PRINT_CSS % {"family": FAMILY, "font": FONT_FILE.as_uri()}, font_config=fonts)
        pdf = weasyprint.HTML(string=html).write_pdf(stylesheets=[css], font_config=fonts)
    assert pdf is not None  # write_pdf returns None only when given a target to write to
    return pdf
