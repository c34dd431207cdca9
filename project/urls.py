from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerSplitView

from project import api, pages
from project.accounts import api as accounts_api
from project.openapi import SchemaView

urlpatterns = [
    path("", pages.home, name="home"),
    path("", include("collab.pages")),
    path("", include("media_pipeline.videos.pages")),
    path("accounts/", include("project.accounts.urls")),
    path("api/v1/me/", api.me, name="api-me"),
    path("api/v1/tokens/", accounts_api.tokens, name="api-tokens"),
    path("api/v1/tokens/<int:token_id>/", accounts_api.token_detail, name="api-token"),
    path("api/v1/schema/", SchemaView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file: no inline script for the CSP.
    # Swagger UI draws its icons from data: SVGs: allowed on this page only (an image
    # runs no script).
    path("api/v1/schema/ui/", csp_update({"img-src": ["data:"]})(
        SpectacularSwaggerSplitView.as_view(url_name="api-schema",
                                            template_name="api_schema_ui.html")),
         name="api-schema-ui"),
    path("api/v1/", include("collab.urls")),
    path("api/v1/", include("media_pipeline.urls")),
    path("admin/", admin.site.urls),
]

# Under /api/ these answer JSON errors; elsewhere Moa's pages (project/error_pages.py).
handler400 = "project.api_errors.bad_request"
handler403 = "project.api_errors.permission_denied"
handler404 = "project.api_errors.not_found"
handler500 = "project.api_errors.server_error"
