"""The emulator's own tests: they exercise it alone, with fixtures of their own (no product)."""
