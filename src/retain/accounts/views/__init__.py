"""The admins' settings pages of the console: API keys and users, one module each."""
