"""Organization features: the account inventory (with OU paths) and account selection."""
