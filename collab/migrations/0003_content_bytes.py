import json

from django.db import migrations, models
from django.db.models import Sum

BATCH = 1000


def text_size(text):
    """collab.op_fields.text_size as of this migration."""
    return len(json.dumps(text, ensure_ascii=False).encode()) - 2


def count_content(apps, schema_editor):
    """Size every node's title and body, and total each map's live nodes."""
    Mindmap = apps.get_model("collab", "Mindmap")
    Node = apps.get_model("collab", "Node")
    batch = []
    for node in Node.objects.only("title", "body").iterator(chunk_size=BATCH):
        node.title_bytes, node.body_bytes = text_size(node.title), text_size(node.body)
        batch.append(node)
        if len(batch) == BATCH:
            Node.objects.bulk_update(batch, ["title_bytes", "body_bytes"])
            batch = []
    Node.objects.bulk_update(batch, ["title_bytes", "body_bytes"])
    totals = (Node.objects.filter(deleted_seq__isnull=True).values("map_id")
              .annotate(titles=Sum("title_bytes"), bodies=Sum("body_bytes")))
    for total in totals:
        Mindmap.objects.filter(pk=total["map_id"]).update(
            content_bytes=total["titles"] + total["bodies"])


class Migration(migrations.Migration):

    dependencies = [
        ("collab", "0002_map_log_bookkeeping"),
    ]

    operations = [
        migrations.AddField(
            model_name="mindmap",
            name="content_bytes",
            field=models.IntegerField(default=0),
        ),
        migrations.AddField(
            model_name="node",
            name="title_bytes",
            field=models.IntegerField(default=0),
        ),
        migrations.AddField(
            model_name="node",
            name="body_bytes",
            field=models.IntegerField(default=0),
        ),
        migrations.RunPython(count_content, migrations.RunPython.noop),
    ]
