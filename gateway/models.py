"""Every table of the data database, so that the metadata (and the migrations) see them all."""

from audit.models import AuditBase, AuditCheckpoint, AuditEvent
from gateway.care.models import CareLink
from gateway.clients.models import Client
from gateway.covenants.models import CovenantApproval, CovenantPartyKey, CovenantVersion
from gateway.consents.models import Consent
from gateway.db import Base
from gateway.disclosures.models import CriminalDisclosure
from gateway.emergency.models import EmergencyAccess
from gateway.informing.models import ClientTask
from gateway.oauth.models import PartnerSystem, RevokedToken, UsedAssertion
from gateway.idempotency import IdempotencyRecord
from gateway.jobs.models import JobLease
from gateway.parties.models import Party, Staff
from gateway.records.models import Entry
from gateway.retention.models import LegalHold
from gateway.rights.models import Notification, RightsRequest
from gateway.statistics.models import StatisticsDecision, StatisticsExtract, StatisticsHeld

DATA_METADATA = (Base.metadata, AuditBase.metadata)

__all__ = ["DATA_METADATA", "AuditCheckpoint", "AuditEvent", "CareLink", "Client", "ClientTask", "Consent", "CriminalDisclosure", "EmergencyAccess", "Entry",
           "IdempotencyRecord", "JobLease", "LegalHold", "Notification", "PartnerSystem", "Party", "RightsRequest",
           "RevokedToken", "Staff", "StatisticsDecision", "StatisticsExtract", "StatisticsHeld", "UsedAssertion"]
