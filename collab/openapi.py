"""The OpenAPI shapes of collab's REST answers, as collab/queries.py builds them."""

from rest_framework import serializers


class TeamOwner(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True)
    username = serializers.CharField(allow_null=True)


class Team(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    role = serializers.ChoiceField(["member", "owner"], help_text="The caller's role.")
    member_count = serializers.IntegerField()
    owner = TeamOwner(help_text="The earliest owner (null fields when the team has none).")
    created_at = serializers.DateTimeField()


class TeamList(serializers.Serializer):
    teams = Team(many=True)


class MapCreator(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class Map(serializers.Serializer):
    id = serializers.IntegerField()
    team = serializers.IntegerField()
    title = serializers.CharField()
    seq = serializers.IntegerField(help_text="The seq of the map's latest op.")
    node_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    created_by = MapCreator(allow_null=True)


class MapList(serializers.Serializer):
    maps = Map(many=True)


class Node(serializers.Serializer):
    id = serializers.UUIDField()
    parent = serializers.UUIDField(allow_null=True, help_text="Null for the root node.")
    title = serializers.CharField(allow_blank=True)
    body = serializers.CharField(allow_blank=True)
    x = serializers.FloatField()
    y = serializers.FloatField()
    color = serializers.CharField()
    collapsed = serializers.BooleanField()


class MapHeader(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    team = serializers.IntegerField()


class MapSnapshot(serializers.Serializer):
    map = MapHeader()
    seq = serializers.IntegerField(help_text="The snapshot is the map as of this seq.")
    nodes = Node(many=True)


class Actor(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class HistoryEvent(serializers.Serializer):
    type = serializers.ChoiceField(["op"])
    seq = serializers.IntegerField()
    op_id = serializers.UUIDField()
    actor = Actor(allow_null=True, help_text="Null once the account is gone.")
    op = serializers.DictField(help_text="The op as logged (docs/protocol.md).")
    at = serializers.DateTimeField()
    title = serializers.CharField(allow_blank=True,
                                  help_text="The node's title now (or when it was deleted).")
    removed = serializers.IntegerField(required=False,
                                       help_text="A delete only: how many of the nodes it took "
                                                 "(its own included) are still deleted.")


class MapHistory(serializers.Serializer):
    map = MapHeader()
    seq = serializers.IntegerField(help_text="The map's seq now.")
    oldest_seq = serializers.IntegerField(allow_null=True,
                                          help_text="The earliest seq the map can be seen at.")
    events = HistoryEvent(many=True)
    next_before = serializers.IntegerField(allow_null=True,
                                           help_text="`before` for the next page; null: "
                                                     "no more.")


class Blame(serializers.Serializer):
    seq = serializers.IntegerField()
    at = serializers.DateTimeField()
    actor = Actor(allow_null=True)


class NodeHistory(MapHistory):
    blame = serializers.DictField(child=Blame(), help_text="Who last set each field "
                                                           "(title, body, x, y, color, "
                                                           "collapsed, parent).")


class MapRestored(serializers.Serializer):
    seq = serializers.IntegerField(help_text="The map's seq after the restore's ops.")
    applied = serializers.IntegerField(help_text="How many ops it took (0: it already "
                                                 "looked like that).")


class TeamMember(serializers.Serializer):
    id = serializers.IntegerField(help_text="The member's user id.")
    username = serializers.CharField()
    name = serializers.CharField(help_text="The display name (the username without one).")
    role = serializers.ChoiceField(["member", "owner"])
    joined = serializers.DateTimeField()


class TeamMemberList(serializers.Serializer):
    members = TeamMember(many=True, help_text="Owners first, then by username.")
    count = serializers.IntegerField(help_text="How many members the team has.")
    next_offset = serializers.IntegerField(allow_null=True,
                                           help_text="`offset` of the next page; null: "
                                                     "no more.")


class DeletedMap(Map):
    deleted_at = serializers.DateTimeField()


class DeletedMapList(serializers.Serializer):
    maps = DeletedMap(many=True, help_text="Most recently deleted first.")
