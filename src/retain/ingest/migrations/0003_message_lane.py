"""Messages get a lane (their customer's, see ``retain.ingest.services.lane_of``); messages
still pending are put in their lane, so they are applied in order with what comes next, and
one job over every lane is enqueued for them (the door enqueues only the lanes it stores in)."""

from django.db import migrations, models

#: Messages read at a time while pending ones are put in their lanes.
_CHUNK = 5000


def lanes_of_pending(apps, schema_editor) -> None:
    from retain.ingest.services import lane_of

    Message = apps.get_model("ingest", "Message")
    pending = Message.objects.filter(applied_at__isnull=True).order_by("id")
    last = 0
    while chunk := list(pending.filter(id__gt=last).values_list("id", "payload")[:_CHUNK]):
        by_lane: dict[int, list[int]] = {}
        for pk, payload in chunk:
            by_lane.setdefault(lane_of(payload), []).append(pk)
        for lane, pks in by_lane.items():
            Message.objects.filter(pk__in=pks).update(lane=lane)
        last = chunk[-1][0]
    if last:
        Job = apps.get_model("worker", "Job")
        if not Job.objects.filter(status="ready", unique_key="ingest.apply_messages").exists():
            Job.objects.create(name="ingest.apply_messages", unique_key="ingest.apply_messages")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_apikey_expires_at"),
        ("ingest", "0002_message_waiting"),
        ("worker", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="lane",
            field=models.PositiveSmallIntegerField(db_default=0),
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(
                condition=models.Q(
                    ("applied_at__isnull", True), ("error", ""), ("waiting_for", "")
                ),
                fields=["lane", "id"],
                name="claimable_lane_idx",
            ),
        ),
        migrations.RunPython(lanes_of_pending, migrations.RunPython.noop),
    ]
