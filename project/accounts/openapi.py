"""Response shapes of the accounts' REST, for the OpenAPI schema only."""

from rest_framework import serializers


class Token(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The secret's first characters, to recognise it.")
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(help_text="Every token expires.")


class TokenList(serializers.Serializer):
    tokens = Token(many=True)


class TokenCreated(serializers.Serializer):
    token = Token()
    secret = serializers.CharField(help_text="The bearer token, shown this once (stored "
                                             "hashed).")
