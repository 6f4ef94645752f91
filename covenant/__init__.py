"""The covenant's rules as code: vocabulary, document loader and validator, and the access decision.

Pure: no I/O beyond reading a covenant document, no framework. Facts are passed in.
"""

from covenant.dataset import FieldProblem, check_content
from covenant.decide import (
    ClientFacts,
    Context,
    Decision,
    EmergencyFacts,
    LinkFacts,
    Reason,
    Resource,
    Subject,
    decide,
    keeps_client_register,
    may_know_client_exists,
)
from covenant.loader import CovenantError, load_covenant, parse_covenant, parse_duration, parse_window
from covenant.model import STAFF_ROLES, Action, Covenant, Duration, Emergency, Right, Role

__all__ = [
    "STAFF_ROLES",
    "Action",
    "ClientFacts",
    "Context",
    "Covenant",
    "CovenantError",
    "Decision",
    "Duration",
    "Emergency",
    "EmergencyFacts",
    "FieldProblem",
    "LinkFacts",
    "Reason",
    "Resource",
    "Right",
    "Role",
    "Subject",
    "check_content",
    "decide",
    "keeps_client_register",
    "load_covenant",
    "may_know_client_exists",
    "parse_covenant",
    "parse_duration",
    "parse_window",
]
