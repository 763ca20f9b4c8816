"""Email and webhooks out: templates, the outbox, the sender, suppressions and unsubscribes."""
