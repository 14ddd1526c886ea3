"""WebSocket frames of receipts, registered with the gateway (realtime.gateway):

- `{"type": "ack", "announcement": 7, "version": 2}` → `receipts_acknowledge_many` by group
  commit (announcements.receipts.ack_batch: the frames of ~10 ms share one transaction), answered
  with `{"type": "acked", "announcement": 7, "version": 2, "acknowledged_at": "…", "changed": true}`
  after the commit, or an error frame with the service's code (`not_found`, `unknown_version`,
  `version_superseded` …); the connection stays open either way.
- `{"type": "subscribe", "stats": 7}` → joins the announcement's statistics group after
  `access_receipt_stats` (404 → error frame `not_found`): `receipt.summary` events follow.
- delivery: every `announcement.published`/`announcement.corrected` event the gateway sends to a
  client is reported to announcements.receipts.delivery, which marks the receipts delivered in
  batches.
- resume: an `announcement.*` event is handed out only to those who may read the announcement
  (`readable_announcement_ids`, the page's rule): the event's unit audience also covers people
  who joined a unit after the publication and are not among its recipients.
"""

from __future__ import annotations

from typing import Any

from announcements.permissions import readable_announcement_ids
from announcements.receipts import ack_batch, delivery
from announcements.receipts.permissions import access_receipt_stats
from announcements.receipts.services import (
    DELIVERY_EVENT_TYPES,
    AckRequest,
    scoped_stats_group,
    stats_group,
)
from announcements.signing.crypto import rfc3339
from realtime.gateway import (
    ActionContext,
    register_action,
    register_delivery_observer,
    register_resume_rule,
    register_subscription,
)


async def ack(ctx: ActionContext, frame: dict[str, Any]) -> dict[str, Any]:
    result = await ack_batch.acknowledge(AckRequest(
        user=ctx.user, announcement_id=frame["announcement"], version=frame["version"]))
    receipt = result.receipt
    return {
        "type": "acked",
        "announcement": frame["announcement"],
        "version": receipt.acknowledged_version,
        "acknowledged_at": rfc3339(receipt.acknowledged_at),
        "changed": result.changed,
    }


def stats_subscription(user, announcement_id: int) -> str:
    scope = access_receipt_stats(user, announcement_id)
    return stats_group(announcement_id) if scope.full else scoped_stats_group(announcement_id)


register_action("ack", fields={"announcement": int, "version": int}, handler=ack)
register_subscription("stats", resolve=stats_subscription)
for _event_type in DELIVERY_EVENT_TYPES:
    register_delivery_observer(_event_type, delivery.observe)
for _event_type in ("announcement.published", "announcement.corrected", "announcement.withdrawn"):
    register_resume_rule(_event_type, readable=readable_announcement_ids)
