"""Who may do what: users with roles (admin, analyst, agent) and API keys with scopes."""
