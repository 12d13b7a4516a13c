"""Reports rebuilt from a journal: Markdown, one self-contained HTML file with the timeline plot,
JSON and JUnit XML (one test case per hypothesis)."""
