"""The processing register (covenant art. 15, GDPR art. 30), and which processing activity each audit event served."""
