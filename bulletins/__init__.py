"""Rankings and the weekly 督查通报: used by the bulletin activity, the `rectify ranking` and `rectify bulletin`
commands and the simulation alike.

- ranking.py: 一周一排名 and 一季度一考核 from the indicator facts, and one unit's figures over any days;
- issue.py: the numbered bulletin (第N期) as Markdown, HTML, CSV and a chart, the same bytes on every rerun;
- rendering.py: the jinja2 environment for templates shipped in a package (templates/ here, and sim's).
"""
