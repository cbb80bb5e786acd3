"""Review tools for the clinical lead: what an edit to the knowledge base changes, and releasing it.

`probes` makes the reports to ask about, `diff` asks both knowledge bases, `change_report` writes
the result (text, markdown, JSON, HTML), `text_changes` lists changed patient texts, `release`
names reviewed content with a version and digest. `vignettes/` holds the public clinical cases.
"""
