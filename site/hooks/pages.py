"""MkDocs hook: page shortcodes (form, pay, partners). Owned by the site content work."""
