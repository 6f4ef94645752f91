"""Covenant versions that every party signs (art. 16): proposals, parties' keys, approvals, the version in force."""
