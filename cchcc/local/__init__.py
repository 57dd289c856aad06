"""The local room: the whole hub on one computer, against an embedded AWS (moto)."""
