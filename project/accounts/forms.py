from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import (
    AuthenticationForm,
    PasswordResetForm,
    UsernameField,
    _unicode_ci_compare,
)
from django.core.exceptions import ValidationError

from project.accounts.models import User


class SignupForm(forms.Form):
    username = UsernameField(max_length=150)
    email = forms.EmailField()
    password = forms.CharField(widget=forms.PasswordInput, strip=False)

    def clean_username(self) -> str:
        username = self.cleaned_data["username"]
        if User.objects.live().filter(username__iexact=username).exists():
            raise forms.ValidationError("That username is taken.")
        return username

    def clean_email(self) -> str:
        email = User.objects.normalize_email(self.cleaned_data["email"])
        if User.objects.live().filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with that email exists; sign in instead.")
        return email

    def clean(self):
        cleaned = super().clean()
        if "password" in cleaned:
            candidate = User(username=cleaned.get("username", ""),
                             email=cleaned.get("email", ""))
            password_validation.validate_password(cleaned["password"], candidate)
        return cleaned


class ResetForm(PasswordResetForm):
    """Django's reset form, open to accounts created without a usable password (a
    member import sends people here to choose their first one). Deleted and inactive
    accounts still get nothing, and the page never says whether an address is known."""

    def get_users(self, email):
        # iexact alone matches look-alikes (a dotless i, U+0131, is I in upper case): like
        # Django's own form, keep only addresses equal under Unicode's caseless match.
        return [user for user in User.objects.live().filter(email__iexact=email,
                                                            is_active=True)
                if _unicode_ci_compare(email, user.email)]


class SignInForm(AuthenticationForm):
    """Django's sign-in form, which says "wrong password" to anyone it refuses; a person
    whose password is right but whose account still waits for its email's link is
    told that instead (they would otherwise reset a password that works). Only the
    password's owner learns it: the check runs on a right password alone."""

    def clean(self):
        try:
            return super().clean()
        except ValidationError as refused:
            if refused.code == "invalid_login" and self._waits_for_verification():
                raise ValidationError(
                    "This account is not verified yet: open the link in the email we "
                    "sent when you signed up (look in spam too), then sign in.",
                    code="unverified") from None
            raise

    def _waits_for_verification(self) -> bool:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if not username or not password:
            return False
        waiting = User.objects.live().filter(username__iexact=username, is_active=False,
                                             email_verified_at__isnull=True).first()
        return waiting is not None and waiting.check_password(password)
