from __future__ import annotations

import datetime as dt
import uuid

from gateway.clients.models import Client


def term_end(runtime, client_id) -> dt.date:
    """The client's retention term end as the covenant counts it (art. 9.3), from the stored row."""
    zone = runtime.settings.zone
    with runtime.session() as session:
        client = session.get(Client, uuid.UUID(str(client_id)))
        last = client.last_contact_at.astimezone(zone).date() if client.last_contact_at else None
        return runtime.covenant.retention.ends_on(client.created_at.astimezone(zone).date(), last)


def at(clock, day: dt.date) -> None:
    clock.set(dt.datetime.combine(day, dt.time(9, 0), dt.UTC))
