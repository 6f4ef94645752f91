"""Retention (covenant art. 9): the purge at the end of each client's term, and legal holds."""
