from django.contrib.auth.backends import ModelBackend


class LiveUserBackend(ModelBackend):
    """Django's backend, refusing deleted accounts (and so their open sessions)."""

    def user_can_authenticate(self, user) -> bool:
        return super().user_can_authenticate(user) and not getattr(user, "is_deleted", False)
