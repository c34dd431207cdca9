"""Accounts created with a shared initial password must choose their own first."""

from django.http import JsonResponse
from django.shortcuts import redirect

# What a person with a password to change may still reach.
ALLOWED_PREFIXES = ("/accounts/password-change/", "/accounts/logout/", "/static/",
                    "/health/")


class PasswordChangeRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated and user.must_change_password
                and not request.path.startswith(ALLOWED_PREFIXES)):
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": "Change your initial password first, at "
                                     "/accounts/password-change/.",
                                     "code": "password_change_required"}, status=403)
            return redirect("/accounts/password-change/")
        return self.get_response(request)
