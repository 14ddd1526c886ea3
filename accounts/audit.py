"""The audit trail: who did what to which object, when, from where."""

from __future__ import annotations

from typing import Any

from django.db import models, transaction

from accounts.models import AuditEvent, User


def audit(
    *,
    actor: User | None,
    action: str,
    target: models.Model | None = None,
    data: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditEvent:
    """Record an administrative act (who, what, on which object, when, from which IP).

    Call it inside the service's transaction so that the record and the act commit together.
    `actor` None means the operator on the server (a management command).
    """
    target_type = target_id = ""
    if target is not None:
        target_type = target._meta.label_lower
        target_id = str(target.pk)
    # Inside the caller's transaction no savepoint (a SAVEPOINT and a RELEASE round trip for
    # every audited act, on every publication): a failed audit row must undo the act anyway.
    with transaction.atomic(savepoint=False):
        return AuditEvent.objects.create(
            actor=actor if actor is not None and actor.is_authenticated else None,
            action=action,
            target_type=target_type,
            target_id=target_id,
            data=data or {},
            ip=ip or None,
        )
