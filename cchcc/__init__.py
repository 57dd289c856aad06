"""The ``cchcc`` command: check, build, serve and publish the CCHCC hub."""
