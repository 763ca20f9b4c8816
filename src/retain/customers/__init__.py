"""The operational store: one record per customer with their orders, events and scores."""
