import logging
from smtplib import SMTPException

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from project import rate_limits
from project.accounts import actions
from project.accounts.forms import ResetForm, SignInForm, SignupForm
from project.accounts.models import User
from project.accounts.tokens import invitation_tokens

logger = logging.getLogger(__name__)


class RateLimitedFormMixin:
    """A form view whose POST counts against `limits` first. Over one, the form comes
    back as the person filled it, with the reason, status 429 (503 when the counters
    are unreachable) and Retry-After: they retry later and retype nothing."""

    def limits(self, request) -> list[tuple[str, object, bool]]:
        raise NotImplementedError

    def post(self, request, *args, **kwargs):
        refused = rate_limits.refusal(request, *self.limits(request))
        if refused is None:
            return super().post(request, *args, **kwargs)
        response = self.render_to_response(self.get_context_data(
            form=self.get_form(), refusal=refused.message))
        return refusal_response(response, refused)


def refusal_response(response, refused: rate_limits.Refusal):
    response.status_code = refused.status
    response["Retry-After"] = str(refused.retry_after)
    return response


class LoginView(RateLimitedFormMixin, auth_views.LoginView):
    """Sign-in, limited per address and per username: from one address
    (`signin.account`: a guesser locks out only themselves) and from everywhere
    (`signin.account_total`: a higher ceiling against guessing from many addresses,
    which only a sustained attack reaches). Attempts are counted before the password
    is checked, so parallel attempts cannot slip past a limit."""

    authentication_form = SignInForm

    def limits(self, request):
        username = request.POST.get("username", "")
        return [("signin.ip", rate_limits.BY_IP, True),
                ("signin.account", rate_limits.value_and_address_key(username), True),
                ("signin.account_total", rate_limits.value_key(username), True)]


class PasswordResetView(RateLimitedFormMixin, auth_views.PasswordResetView):
    """Reset emails, limited per address and per recipient (no mail bombing)."""

    form_class = ResetForm
    success_url = reverse_lazy("accounts:password_reset_done")
    email_template_name = "accounts/password_reset_email.txt"

    def limits(self, request):
        return [("reset.ip", rate_limits.BY_IP, True),
                ("reset.account", rate_limits.value_key(request.POST.get("email", "")),
                 True)]


@require_http_methods(["GET", "POST"])
def signup(request):
    form = SignupForm(request.POST or None)
    refused = request.method == "POST" and rate_limits.refusal(
        request, ("signup.ip", rate_limits.BY_IP, True))
    if refused:
        return refusal_response(render(request, "accounts/signup.html",
                                       {"form": form, "refusal": refused.message}), refused)
    if request.method == "POST" and form.is_valid():
        def verify_url(token: str) -> str:
            return request.build_absolute_uri(reverse("accounts:verify", args=[token]))
        try:
            actions.user_signup(**form.cleaned_data, verify_url=verify_url)
        except (SMTPException, OSError):
            logger.exception("verification email could not be sent; signup rolled back")
            form.add_error(None, "We could not send the verification email, so no account "
                                 "was created. Please try again in a few minutes.")
        except ValidationError as error:  # a concurrent signup took the name
            form.add_error(None, error)
        else:
            return render(request, "accounts/signup_sent.html",
                          {"email": form.cleaned_data["email"]})
    return render(request, "accounts/signup.html", {"form": form},
                  status=400 if form.errors else 200)


def verify(request, token: str):
    try:
        actions.user_verify_email(token=token)
    except actions.VerificationError as error:
        return render(request, "accounts/verify_failed.html", {"reason": str(error)},
                      status=400)
    messages.success(request, "Your email is verified. Sign in to start.")
    return redirect("accounts:login")


class LogoutView(auth_views.LogoutView):
    """Django's logout, which also closes the WebSockets opened with this session."""

    def post(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            actions.sockets_revoke(user_id=request.user.pk,
                                   session_key=request.session.session_key)
        return super().post(request, *args, **kwargs)


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change, which also ends the user's other sessions (Django
    does, through the session hash), closes their WebSockets on every instance and
    revokes the user's API tokens: whoever knew the old password, or minted a token
    with a stolen session, is out everywhere but here."""

    success_url = "/"

    def form_valid(self, form):
        opened_with = self.request.session.session_key  # cycled by the change
        response = super().form_valid(form)
        tokens = actions.user_credentials_reset(user=self.request.user,
                                                keep_session=opened_with)
        messages.success(self.request, "Your password is changed; your other sessions "
                                       "are signed out" + (f" and your {tokens} API "
                                       f"token(s) revoked." if tokens else "."))
        return response


class LiveUserConfirmMixin:
    """A one-time link sets the password of a live, active account only, and ends
    every other credential: its WebSockets close and its API tokens are revoked (the
    account may have been someone else's until now)."""

    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        return user if user is not None and user.is_active and not user.is_deleted else None

    def form_valid(self, form):
        response = super().form_valid(form)
        actions.user_credentials_reset(user=self.user)
        return response


class PasswordResetConfirmView(LiveUserConfirmMixin, auth_views.PasswordResetConfirmView):
    success_url = reverse_lazy("accounts:password_reset_complete")


class InvitationView(LiveUserConfirmMixin, auth_views.PasswordResetConfirmView):
    """The link of an imported account's invitation: it sets the first password, and
    proves the address, so the email counts as verified."""

    token_generator = invitation_tokens
    success_url = reverse_lazy("accounts:login")
    extra_context = {"invitation": True}

    def form_valid(self, form):
        response = super().form_valid(form)
        User.objects.filter(pk=self.user.pk).update(invitation_pending=False,
                                                    email_verified_at=timezone.now())
        messages.success(self.request, "Your password is set. Sign in to start.")
        return response
