"""Art. 9.4-9.5: the controller's decision to keep a de-identified extract of a client for statistics,
and the extract itself. Only this package reads the extract's table (a test holds every other module to it)."""
