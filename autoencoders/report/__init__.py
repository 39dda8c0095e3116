"""Reports: a comparison of runs as Markdown and HTML from templates, and its figures."""
