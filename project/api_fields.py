"""Request fields of the REST API that take JSON as it is written, and say in the schema
what they take."""

from rest_framework import serializers

# What str.strip() strips (str.isspace), spelled out for a regex class: regex engines
# (Python's, ECMAScript's, the schema validators') disagree on what \s means.
WHITESPACE = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# Some text: not only whitespace, and no NUL (PostgreSQL refuses it in text).
TEXT = rf"^[^\x00]*[^\x00{WHITESPACE}][^\x00]*$"


class JsonString(serializers.RegexField):
    """A JSON string with some text in it. DRF's CharField also takes a number and
    makes it text, which hides a client's mistake and is not what the schema says."""

    def __init__(self, **kwargs):
        super().__init__(TEXT, **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)
