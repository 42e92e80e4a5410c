"""Rankings and the weekly 督查通报: used by the bulletin activity, the `rectify ranking` and `rectify bulletin`
commands, the simulation and the leaders' pages alike (docs/bulletins.md).

- ranking.py: 一周一排名 and 一季度一考核 from the indicator facts, and one unit's figures over any days;
- issue.py: the numbered bulletin (第N期) as HTML, PDF, Markdown, CSV and a chart, the same bytes on every rerun;
- charts.py: matplotlib in Chinese, in the CJK font shipped in fonts/ (SIL OFL);
- pdf.py: the bulletin's HTML as an A4 PDF by WeasyPrint, no browser;
- words.py: the Chinese for weeks, quarters, dates, changes of place and indicators;
- rendering.py: the jinja2 environment for templates shipped in a package (templates/ here, and sim's).
"""
