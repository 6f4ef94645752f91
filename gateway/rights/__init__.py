"""Clients' rights (covenant art. 11-14): access, correction and objection requests.

A client may ask to see their data (art. 11-12), to have it corrected (art. 13) and object to its
processing (art. 14); the client manager handles the request for the controller within the covenant's
terms and answers in writing, with reasons. :mod:`gateway.rights.terms` computes those terms, purely from
the covenant; the request workflow builds on it.
"""
