"""The monthly progress report to the coordination point (Instrument 2): aggregates, small counts suppressed."""
