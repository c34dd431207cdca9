"""Account state changes: signup and verification, invitations, soft delete, tokens
(the clean-ups operators run are in project/accounts/maintenance.py)."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.models import Session
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection, send_mail
from django.db import IntegrityError, transaction
from django.db.models import Value
from django.db.models.functions import Upper
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from project.accounts.models import ApiToken, User, token_digest
from project.accounts.tokens import invitation_tokens
from project.bulk_insert import insert_rows
from project.realtime import group_name, publish_on_commit
from project.refusals import WrongState
from project.ws_frames import CLOSE_NOT_AUTHENTICATED

logger = logging.getLogger(__name__)

INVITE_BATCH = 100  # invitations per SMTP batch, marked sent together
INVITE_LOAD = 5000  # accounts read per query
VERIFY_SALT = "moa.accounts.verify-email"


class VerificationError(Exception):
    """The verification link is invalid, expired or already used."""


def user_signup(*, username: str, email: str, password: str,
                verify_url: Callable[[str], str]) -> User:
    """Create an inactive account and email its verification link, atomically.

    The email is sent inside the transaction: if the mail server refuses it, the
    account is rolled back, so nobody holds a name they can never activate.
    `verify_url` turns a signed token into the absolute link to mail.
    """
    with transaction.atomic():
        user = User(username=username, email=email, is_active=False)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:  # a concurrent signup won the name between check and save
            raise ValidationError("That username or email was just taken.") from None
        token = signing.dumps({"user": user.pk, "email": email}, salt=VERIFY_SALT)
        send_mail(
            subject="Verify your Moa account",
            message=f"Hello {username},\n\nopen this link to activate your account:\n"
                    f"{verify_url(token)}\n\nIt expires in "
                    f"{settings.EMAIL_VERIFICATION_MAX_AGE // 86400} days.",
            from_email=None,
            recipient_list=[email],
        )
    logger.info("signup user_id=%s awaiting email verification", user.pk)
    return user


def users_bulk_create(*, accounts: list[tuple[str, str, str]]) -> dict[str, int]:
    """Create active accounts ((username, email, display name) each) in bulk, for an
    import; return each new account's id by its username, as given.

    No account gets a password: each waits for its invitation (`users_invite`), a
    one-time link to set its own, and cannot sign in by any path until then. (A
    shared initial password would let anyone in the batch sign in as any other.)
    The caller holds the transaction; a name taken meanwhile raises IntegrityError
    and nothing is created.
    """
    # Unusable is a "!" prefix; one random marker serves the whole batch (making one
    # per account cost 9 s of 50,000 rows' import).
    password, now = make_password(None), timezone.now()
    ids = insert_rows(User, ("username", "email", "display_name", "is_active", "date_joined",
                             "password", "invitation_pending"),
                      [(username, email, name, True, now, password, True)
                       for username, email, name in accounts], ids=True)
    return {username: user_id for (username, _, _), user_id in zip(accounts, ids, strict=True)}


@dataclass(frozen=True)
class Invitation:
    """What an invitation says: who added the person, to what, and where Moa is."""

    site: str  # "https://moa.example.com", the origin the import was sent to
    team_name: str
    inviter_name: str


class Invitee(NamedTuple):
    """What an invitation needs of an account (and its token hashes): read as values,
    not as model instances (a User built per account cost 20 µs, 2 s of 100,000)."""

    pk: int
    username: str
    email: str
    display_name: str
    first_name: str
    last_name: str
    password: str
    last_login: datetime | None

    get_email_field_name = User.get_email_field_name

    @property
    def name(self) -> str:  # as User.name
        return (self.display_name or f"{self.first_name} {self.last_name}".strip()
                or self.username)


def users_invite(*, user_ids: list[int], invitation: Invitation) -> int:
    """Email each of these accounts still waiting for one its invitation: a link to set
    its password, valid INVITATION_MAX_AGE and only once. Returns how many were sent.

    INVITE_LOAD accounts are read a query; sent in batches of INVITE_BATCH over one
    SMTP connection, each batch marked sent once the mail server took it, so a failure
    (SMTPException, OSError: raised to the caller) leaves the rest pending for the
    next call, and at worst one batch is sent twice.
    """
    sent = 0
    pending = User.objects.live().filter(invitation_pending=True, is_active=True)
    letter = InvitationLetter(invitation)
    with get_connection() as connection:
        for start in range(0, len(user_ids), INVITE_LOAD):
            loaded = [Invitee(*values) for values in pending.filter(
                pk__in_array=user_ids[start:start + INVITE_LOAD]).order_by("pk")
                .values_list(*Invitee._fields)]
            for first in range(0, len(loaded), INVITE_BATCH):
                batch = loaded[first:first + INVITE_BATCH]
                connection.send_messages([letter.to(invitee) for invitee in batch])
                User.objects.filter(pk__in_array=[invitee.pk for invitee in batch]).update(
                    invitation_pending=False, invited_at=timezone.now())
                sent += len(batch)
    if sent:
        logger.info("%d invitation(s) sent for team %s", sent, invitation.team_name)
    return sent


class InvitationLetter:
    """The invitation email of one import, rendered once with markers where each
    account's own words go, its tokens made with one derived key. Rendering the
    template and reversing the link for every account took 65 of the 85 µs an
    invitation cost (6.5 s of a 100,000-row import)."""

    MARKS = {"name": "\x00name\x00", "username": "\x00username\x00", "link": "\x00link\x00"}
    FILLED = re.compile("\x00(name|username|link)\x00")

    def __init__(self, invitation: Invitation):
        site = invitation.site.rstrip("/")
        self.link_prefix = site + reverse("accounts:invitation", kwargs={
            "uidb64": "U", "token": "T"}).removesuffix("U/T/")
        self.subject = f"You are invited to {invitation.team_name} on Moa"
        self.body = get_template("accounts/invitation_email.txt").render({
            "user": {"name": self.MARKS["name"], "username": self.MARKS["username"]},
            "invitation": invitation, "link": self.MARKS["link"],
            "days": settings.INVITATION_MAX_AGE // 86400,
            "reset": site + reverse("accounts:password_reset")})
        self.token = invitation_tokens.maker()

    def to(self, user: User | Invitee) -> EmailMessage:
        words = {"name": user.name, "username": user.username, "link": (
            f"{self.link_prefix}{urlsafe_base64_encode(force_bytes(user.pk))}/"
            f"{self.token(user)}/")}
        # One pass, so words that look like a marker (a name) stay as they are.
        body = self.FILLED.sub(lambda mark: words[mark[1]], self.body)
        return EmailMessage(subject=self.subject, body=body, to=[user.email])


def user_verify_email(*, token: str) -> User:
    try:
        payload = signing.loads(token, salt=VERIFY_SALT,
                                max_age=settings.EMAIL_VERIFICATION_MAX_AGE)
    except signing.SignatureExpired:
        raise VerificationError("This link has expired; sign up again.") from None
    except signing.BadSignature:
        raise VerificationError("This link is not valid.") from None
    with transaction.atomic():
        user = (User.objects.live().select_for_update()
                .filter(pk=payload["user"], email=payload["email"]).first())
        if user is None:
            raise VerificationError("This account no longer exists; sign up again.")
        if user.email_verified_at is None:
            user.email_verified_at = timezone.now()
            user.is_active = True
            user.save(update_fields=["email_verified_at", "is_active"])
    return user


def sockets_revoke(*, user_id: int, session_key: str | None = None,
                   team_id: int | None = None, token_id: int | None = None,
                   keep_session: str | None = None,
                   code: int = CLOSE_NOT_AUTHENTICATED) -> None:
    """Close the user's open WebSockets on every instance, after the commit.

    Narrowed to one session (a logout), one team (a removal) or one token (revoked)
    when given; with `keep_session`, every socket but that session's (a password
    change).
    """
    publish_on_commit(group_name("user", user_id), {
        "type": "user.revoke", "user": user_id, "session": session_key, "team": team_id,
        "token": token_id, "keep_session": keep_session, "code": code,
    })


def user_credentials_reset(*, user: User, keep_session: str | None = None) -> int:
    """After a password change or reset: every API token of the user is deleted and
    every socket closed but `keep_session`'s (whoever knew the old password, or minted
    a token with a stolen session, is out). Returns how many tokens were deleted."""
    with transaction.atomic():
        deleted, _ = ApiToken.objects.filter(user=user).delete()
        sockets_revoke(user_id=user.pk, keep_session=keep_session)
    logger.info("user_id=%s: password set; %d API token(s) revoked, other sockets closed",
                user.pk, deleted)
    return deleted


class AccountRefused(WrongState):
    """An account's state does not allow this deletion or restore; the message says why."""


def user_soft_delete(*, user: User) -> None:
    """Delete an account but keep its rows; its username and email become free. Its
    API tokens are deleted, its sessions ended and its sockets closed everywhere: the
    sign-in backend refuses a deleted account anyway, but a session kept would come
    back to life with a restore (user_restore). AccountRefused for an account already
    deleted (its deletion time, which retention counts from, stays)."""
    with transaction.atomic():
        deleted = User.objects.filter(pk=user.pk, is_deleted=False).update(
            is_deleted=True, is_active=False, deleted_at=timezone.now()
        )
        if not deleted:
            raise AccountRefused(f"{user.username} is already deleted.")
        ApiToken.objects.filter(user=user).delete()
        sockets_revoke(user_id=user.pk)
    sessions = _sessions_end(user.pk)  # after the commit: the scan holds no row lock
    user.refresh_from_db()
    logger.info("user_id=%s deleted; %d session(s) ended", user.pk, sessions)


def _sessions_end(user_id: int) -> int:
    """Delete the user's unexpired sessions; how many. Sessions are not indexed by user
    (Django's database backend), so each live one is decoded: an operator's action,
    rare enough to afford it."""
    mine = [session.pk for session in
            Session.objects.filter(expire_date__gt=timezone.now()).iterator()
            if session.get_decoded().get("_auth_user_id") == str(user_id)]
    deleted, _ = Session.objects.filter(pk__in=mine).delete()
    return deleted


def user_restore(*, user_id: int) -> User:
    """Bring a soft-deleted account back, active, with its password, memberships and
    content as they were (its API tokens and sessions were ended for good).
    AccountRefused when it is not deleted, when its username or email has since been
    taken by a live account (each is unique among live accounts only), or when it was
    scrubbed (users_scrub_deleted). The check and the change are one transaction under
    the account's row lock; a name taken by a concurrent signup in between still hits
    the unique constraint and is refused the same way."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user_id)
        if not user.is_deleted:
            raise AccountRefused(f"{user.username} is not deleted.")
        if user.username == f"deleted-{user.pk}" and not user.email:
            raise AccountRefused("Its username and email were scrubbed (deleted account "
                                 "clean-up): nothing identifies the person any more.")
        taken = _taken_by_live(user)
        if taken:
            raise AccountRefused(f"{taken} has since been taken by a live account: that "
                                 f"account must change it (or be deleted) first.")
        user.is_deleted, user.deleted_at, user.is_active = False, None, True
        try:
            with transaction.atomic():
                user.save(update_fields=["is_deleted", "deleted_at", "is_active"])
        except IntegrityError:
            raise AccountRefused("Its username or email was just taken by a live "
                                 "account.") from None
    logger.info("user_id=%s restored", user.pk)
    return user


def _taken_by_live(user: User) -> str:
    """'Its username "x"' or 'Its email "y"' when a live account holds it, else ''."""
    live = User.objects.live().exclude(pk=user.pk)
    for field in ("username", "email"):
        value = getattr(user, field)
        # Upper() on both sides, as the constraints compare (not Python's upper()).
        if value and live.annotate(key=Upper(field)).filter(key=Upper(Value(value))).exists():
            return f'Its {field} "{value}"'
    return ""


def user_deactivate(*, user: User) -> None:
    """Stop an account from signing in; its sessions and sockets end at once."""
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=False)
        sockets_revoke(user_id=user.pk)
    user.refresh_from_db()


def token_create(*, user: User, name: str, expires_at: datetime | None = None
                 ) -> tuple[ApiToken, str]:
    """Return the token row and its secret, which is shown once and stored hashed.

    Every token expires: after API_TOKEN_DAYS unless `expires_at` says otherwise, so a
    token forgotten in a script or leaked in a log stops working by itself.
    """
    raw = secrets.token_urlsafe(32)
    expires_at = expires_at or timezone.now() + timedelta(days=settings.API_TOKEN_DAYS)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=raw[:8], digest=token_digest(raw), expires_at=expires_at
    )
    logger.info("user_id=%s: API token %s… created, expires %s", user.pk, token.prefix,
                expires_at.date())
    return token, raw


def token_revoke(*, user: User, token_id: int) -> bool:
    """Delete one of the user's tokens and close the sockets opened with it; False when
    the user has no such token."""
    with transaction.atomic():
        deleted, _ = ApiToken.objects.filter(user=user, pk=token_id).delete()
        if deleted:
            sockets_revoke(user_id=user.pk, token_id=token_id)
    if deleted:
        logger.info("user_id=%s: API token %s revoked", user.pk, token_id)
    return bool(deleted)
