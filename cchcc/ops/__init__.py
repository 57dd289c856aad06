"""The operations room: deploy, and work on a running hub (local stack or AWS)."""
