"""One-time links that set a password: Django's reset tokens, and invitations.

An invitation token is a password-reset token of its own kind (another salt, so a
reset link is no invitation and back) that lasts INVITATION_MAX_AGE instead of
PASSWORD_RESET_TIMEOUT. Like a reset token it dies once used: it hashes the account's
password and last sign-in, which setting the password changes.
"""

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.utils.crypto import constant_time_compare
from django.utils.http import base36_to_int


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


invitation_tokens = InvitationTokenGenerator()
