"""The ``cchcc`` command: the site (``cchcc.site``), the local stack (``cchcc.local``) and operations (``cchcc.ops``)."""
