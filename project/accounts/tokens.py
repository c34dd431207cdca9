"""One-time links that set a password: Django's reset tokens, and invitations.

An invitation token is a password-reset token of its own kind (another salt, so a
reset link is no invitation and back) that lasts INVITATION_MAX_AGE instead of
PASSWORD_RESET_TIMEOUT. Like a reset token it dies once used: it hashes the account's
password and last sign-in, which setting the password changes.
"""

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.encoding import force_bytes
from django.utils.http import base36_to_int, int_to_base36


class InvitationTokenGenerator(PasswordResetTokenGenerator):
    key_salt = "moa.accounts.invitation"

    def check_token(self, user, token) -> bool:
        if not (user and token):
            return False
        try:
            timestamp = base36_to_int(token.split("-")[0])
        except ValueError:
            return False
        if self._num_seconds(self._now()) - timestamp > settings.INVITATION_MAX_AGE:
            return False
        return any(constant_time_compare(self._make_token_with_timestamp(user, timestamp,
                                                                         secret), token)
                   for secret in [self.secret, *self.secret_fallbacks])

    def maker(self):
        """`make_token` for many accounts at once, stamped now: the same tokens, with the
        HMAC key derived once instead of per token (half of a token's 8 µs)."""
        timestamp = self._num_seconds(self._now())
        prefix = int_to_base36(timestamp)
        keyed = salted_hmac(self.key_salt, b"", secret=self.secret, algorithm=self.algorithm)

        def make(user) -> str:
            mac = keyed.copy()
            mac.update(force_bytes(self._make_hash_value(user, timestamp)))
            return f"{prefix}-{mac.hexdigest()[::2]}"

        return make


invitation_tokens = InvitationTokenGenerator()
