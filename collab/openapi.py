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
