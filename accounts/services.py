"""Write paths for people and organisation: one function per business action.

Pages, the JSON API and management commands call these; none of them saves a model itself.
Each runs in `transaction.atomic`, validates before writing, and audits administrative acts.
"""

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
    with transaction.atomic():
        return AuditEvent.objects.create(
            actor=actor if actor is not None and actor.is_authenticated else None,
            action=action,
            target_type=target_type,
            target_id=target_id,
            data=data or {},
            ip=ip or None,
        )
