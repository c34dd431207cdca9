"""The OpenAPI shape of the member import request, which its view reads by hand
(docs/member-import.md)."""

from rest_framework import serializers


class MemberImport(serializers.Serializer):
    file = serializers.FileField(help_text="The member list (.xlsx).")
    dry_run = serializers.BooleanField(required=False, help_text="Check and report, "
                                                                 "write nothing.")
