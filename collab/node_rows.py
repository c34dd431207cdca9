"""A batch's effects on node rows, written with as few statements as the changes allow."""

from __future__ import annotations

from collab import ops, queries
from collab.models import Node


class RowChanges:
    """A batch's effects folded into one final change per node row (last write wins
    per field, in seq order), so a batch writes each touched node once."""

    def __init__(self):
        self.created: dict[str, dict] = {}
        self.changed: dict[str, dict] = {}

    def add(self, effect: ops.Effect, seq: int) -> None:
        if effect.kind in ("node.delete", "node.restore"):
            for node in effect.subtree:
                self._fields(node)["deleted_seq"] = seq if effect.kind == "node.delete" else None
            return
        fields = dict(effect.values)
        if effect.size is not None:
            fields["title_bytes"], fields["body_bytes"] = effect.size
        if "parent" in fields:
            fields["parent_id"] = fields.pop("parent")
        if effect.kind == "node.create":
            self.created[effect.id] = fields
        else:
            self._fields(effect.id).update(fields)

    def nodes(self, map_id: int, ids: tuple[str, ...]) -> list[dict]:
        """The nodes `ids` as they stand in this batch (their rows with the batch's
        changes so far over them), in the order given."""
        rows = {str(row["node_id"]): row for row in Node.objects.filter(
            map_id=map_id, node_id__in=[node for node in ids if node not in self.created]
        ).values(*queries.NODE_FIELDS)}
        found = []
        for node in ids:
            row = {**rows.get(node, {"node_id": node}), **self._fields(node)}
            found.append(queries.node_json(row))
        return found

    def _fields(self, node: str) -> dict:
        return self.created[node] if node in self.created else self.changed.setdefault(node, {})

    def write(self, map_id: int, pks: dict[str, int]) -> None:
        """A statement for the new rows; one for the rows that all change the same way
        (a delete's or a restore's subtree: `UPDATE ... WHERE pk IN`, never a CASE per
        row, which took seconds for 10,000 rows); and one per set of changed fields for
        the rest (a batch of title edits is a single UPDATE, whatever the number of
        nodes)."""
        Node.objects.bulk_create(Node(map_id=map_id, node_id=node, **fields)
                                 for node, fields in self.created.items())
        alike: dict[tuple, list[str]] = {}
        for node, fields in self.changed.items():
            alike.setdefault(tuple(sorted(fields.items())), []).append(node)
        by_fields: dict[tuple[str, ...], list[Node]] = {}
        for change, nodes in alike.items():
            if len(nodes) > 1:
                Node.objects.filter(pk__in=[pks[node] for node in nodes]).update(**dict(change))
                continue
            row = Node(pk=pks[nodes[0]], map_id=map_id, node_id=nodes[0], **dict(change))
            by_fields.setdefault(tuple(name for name, _ in change), []).append(row)
        for fields, rows in by_fields.items():
            Node.objects.bulk_update(rows, fields)
