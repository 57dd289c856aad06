"""What the HTTP handlers share at their edge (HTTP API v2 request bodies); no domain logic."""
