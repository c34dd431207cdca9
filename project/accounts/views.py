import logging
from smtplib import SMTPException

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from project.accounts import actions
from project.accounts.forms import SignupForm
from project.accounts.models import User

logger = logging.getLogger(__name__)


@require_http_methods(["GET", "POST"])
def signup(request):
    form = SignupForm(request.POST or None)
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
    """Django's password change, which also lifts `must_change_password` (set on
    accounts created by an import with a shared initial password)."""

    success_url = "/"

    def form_valid(self, form):
        response = super().form_valid(form)
        if self.request.user.must_change_password:
            User.objects.filter(pk=self.request.user.pk).update(must_change_password=False)
        messages.success(self.request, "Your password is changed.")
        return response
