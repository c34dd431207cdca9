from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import PasswordResetForm, UsernameField, _unicode_ci_compare

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
