"""Users that can be deleted without occupying their name forever, and API tokens."""

import hashlib

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper

LIVE = Q(is_deleted=False)


class LiveUserManager(UserManager):
    """Looks users up by name among live accounts only, case-insensitively."""

    def get_by_natural_key(self, username):
        return self.get(**{f"{self.model.USERNAME_FIELD}__iexact": username, "is_deleted": False})

    def live(self):
        return self.filter(LIVE)


class User(AbstractUser):
    # Unique among live users only: see Meta.constraints.
    username = models.CharField(
        "username",
        max_length=150,
        validators=[AbstractUser.username_validator],
        help_text="150 characters or fewer. Letters, digits and @/./+/-/_ only.",
    )
    display_name = models.CharField(max_length=150, blank=True)
    is_deleted = models.BooleanField(default=False, db_index=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    email_verified_at = models.DateTimeField(null=True, blank=True)
    # Created by a member import and not yet sent its invitation (a one-time link to
    # set the first password); such an account has no usable password until then.
    invitation_pending = models.BooleanField(default=False)
    invited_at = models.DateTimeField(null=True, blank=True)

    objects = LiveUserManager()

    class Meta:
        # Upper(), as sign-in's iexact compares on PostgreSQL: two live names that
        # sign-in could confuse (a long s and an s, a dotless i and an i) cannot both
        # exist (project/accounts/identity.py).
        constraints = [
            models.UniqueConstraint(
                Upper("username"), condition=LIVE, name="accounts_user_username_live_uniq",
                violation_error_message="A user with that username already exists.",
            ),
            models.UniqueConstraint(
                Upper("email"), condition=LIVE & ~Q(email=""),
                name="accounts_user_email_live_uniq",
                violation_error_message="A user with that email already exists.",
            ),
            models.CheckConstraint(
                condition=Q(is_deleted=False) | Q(deleted_at__isnull=False),
                name="accounts_user_deleted_has_time",
            ),
        ]

    @property
    def name(self) -> str:
        return self.display_name or self.get_full_name() or self.username


def token_digest(raw: str) -> str:
    """Tokens are random 256-bit strings, so one SHA-256 is a safe at-rest hash."""
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token for scripts and load tests; only its digest is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=8, help_text="first characters, to recognise it")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(help_text="every token expires (API_TOKEN_DAYS by "
                                                "default)")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
