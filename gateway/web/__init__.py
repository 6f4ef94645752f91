"""The web UI for privacy officers: server-rendered pages under ``/ui`` (see :mod:`gateway.web.views`)."""
