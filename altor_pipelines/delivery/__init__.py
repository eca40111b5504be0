"""Delivery: the diagnosis as an internal note and ticket tags in the help desk, recommended
replies learned from history, idempotent write-back, and the live path from a new ticket to
its note. See docs/delivery.md."""
