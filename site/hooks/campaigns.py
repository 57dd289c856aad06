"""MkDocs hook: campaign pages, redirects, QR codes and posters. Owned by the campaigns work."""
