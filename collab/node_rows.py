"""A batch's effects on node rows, written with as few statements as the changes allow."""

from __future__ import annotations

from django.db import connection

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

    def statements(self, map_id: int, pks: dict[str, int]) -> list[tuple[str, list]]:
        """A statement for the new rows; one for the rows that all change the same way
        (a delete's or a restore's subtree: `UPDATE ... WHERE id IN`, never a CASE per
        row, which took seconds for 10,000 rows); and one per set of changed fields for
        the rest (a batch of title edits is a single UPDATE, whatever the number of
        nodes). Written out, not built by the ORM: collab/batch_sql.py says why."""
        statements = [self._insert(map_id)] if self.created else []
        alike: dict[tuple, list[str]] = {}
        for node, fields in self.changed.items():
            alike.setdefault(tuple(sorted(fields.items())), []).append(node)
        by_fields: dict[tuple[str, ...], list[tuple[int, tuple]]] = {}
        for change, nodes in alike.items():
            names = tuple(name for name, _ in change)
            if len(nodes) > 1:
                ids = [pks[node] for node in nodes]
                statements.append((f"UPDATE collab_node SET {assignments(names)} WHERE id IN "
                                   f"({', '.join(['%s'] * len(ids))})",
                                   [*values(names, [value for _, value in change]), *ids]))
                continue
            by_fields.setdefault(names, []).append(
                (pks[nodes[0]], tuple(value for _, value in change)))
        statements += [self._update(names, rows) for names, rows in by_fields.items()]
        return statements

    def _insert(self, map_id: int) -> tuple[str, list]:
        names = [field.attname for field in Node._meta.concrete_fields if field.attname != "id"]
        defaults = {name: Node._meta.get_field(name).get_default() for name in names}
        params = []
        for node, fields in self.created.items():
            params += values(names, [map_id if name == "map_id" else node if name == "node_id"
                                     else fields.get(name, defaults[name]) for name in names])
        row = f"({', '.join(['%s'] * len(names))})"
        return (f"INSERT INTO collab_node ({', '.join(names)}) VALUES "
                f"{', '.join([row] * len(self.created))}", params)

    @staticmethod
    def _update(names: tuple[str, ...], rows: list[tuple[int, tuple]]) -> tuple[str, list]:
        """Rows each changing `names` to values of their own: one UPDATE, joined to the
        rows' values (typed, so PostgreSQL reads a NULL as the column's type)."""
        if len(rows) == 1:
            (pk, changed), = rows
            return (f"UPDATE collab_node SET {assignments(names)} WHERE id = %s",
                    [*values(names, changed), pk])
        typed = ", ".join(f"CAST(%s AS {Node._meta.get_field(name).cast_db_type(connection)})"
                          for name in ("id", *names))
        params = [value for pk, changed in rows for value in (pk, *values(names, changed))]
        return (f"WITH v (id, {', '.join(names)}) AS (VALUES "
                f"{', '.join([f'({typed})'] * len(rows))}) "
                f"UPDATE collab_node SET {', '.join(f'{name} = v.{name}' for name in names)} "
                "FROM v WHERE collab_node.id = v.id", params)


def assignments(names) -> str:
    return ", ".join(f"{name} = %s" for name in names)


def values(names, changed) -> list:
    """Values of Node's fields `names` as the database takes them."""
    return [Node._meta.get_field(name).get_db_prep_save(value, connection)
            for name, value in zip(names, changed, strict=True)]
