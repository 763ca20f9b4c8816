"""The customers' pages of the console, one module per page (or group of pages)."""
