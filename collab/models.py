"""Teams, their mindmaps, each map's node tree and its append-only op log."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class Team(models.Model):
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)
    is_deleted = models.BooleanField(default=False)
    deleted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner"
        MEMBER = "member"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="collab_membership_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.team_id} ({self.role})"


class Mindmap(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="maps")
    title = models.CharField(max_length=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # The seq of the map's latest op; advanced in the op's own transaction, under
    # this row's lock, which is what makes seqs gapless.
    seq = models.BigIntegerField(default=0)
    # Ops up to this seq were trimmed from the log: a resync from before it gets a
    # snapshot instead of ops.
    trimmed_seq = models.BigIntegerField(default=0)
    node_count = models.IntegerField(default=1)
    # The bytes the titles and bodies of the live nodes take in a frame (op_fields.text_size),
    # kept like node_count: under this row's lock, in the op's transaction.
    content_bytes = models.IntegerField(default=0)
    is_deleted = models.BooleanField(default=False)
    deleted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.title


class Node(models.Model):
    """One node of a map's tree. `node_id` is the client-generated UUID of the protocol."""

    map = models.ForeignKey(Mindmap, on_delete=models.CASCADE, related_name="nodes")
    node_id = models.UUIDField()
    parent_id = models.UUIDField(null=True, blank=True)
    title = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    x = models.FloatField(default=0)
    y = models.FloatField(default=0)
    color = models.CharField(max_length=7, default="#ffffff")
    collapsed = models.BooleanField(default=False)
    # op_fields.text_size of title and body: what deleting or editing the node gives back.
    title_bytes = models.IntegerField(default=0)
    body_bytes = models.IntegerField(default=0)
    # Deleted nodes stay as tombstones so a late op on them is answered `gone`.
    deleted_seq = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["map", "node_id"], name="collab_node_uniq"),
            models.UniqueConstraint(fields=["map"], condition=Q(parent_id__isnull=True),
                                    name="collab_node_one_root"),
        ]

    def __str__(self) -> str:
        return f"{self.node_id} {self.title!r}"


class Op(models.Model):
    """An applied op. (map, seq) is gapless; (map, op_id) makes a resend idempotent."""

    map = models.ForeignKey(Mindmap, on_delete=models.CASCADE, related_name="ops")
    seq = models.BigIntegerField()
    op_id = models.UUIDField(default=uuid.uuid4)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                              related_name="+")
    op = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["map", "seq"], name="collab_op_seq_uniq"),
            models.UniqueConstraint(fields=["map", "op_id"], name="collab_op_id_uniq"),
        ]

    def __str__(self) -> str:
        return f"map {self.map_id} seq {self.seq}"


class Checkpoint(models.Model):
    """A map's live nodes as they were right after op `seq`: where its history starts.

    Written with the map (seq 0) and whenever the op log is trimmed, so the map as it
    was at any seq still in the history is this plus the ops after it."""

    map = models.ForeignKey(Mindmap, on_delete=models.CASCADE, related_name="checkpoints")
    seq = models.BigIntegerField()
    nodes = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["map", "seq"], name="collab_checkpoint_uniq"),
        ]

    def __str__(self) -> str:
        return f"map {self.map_id} at seq {self.seq}"
