from django.urls import path

from media_pipeline import api

urlpatterns = [
    path("jobs/", api.job_list, name="api-jobs"),
    path("jobs/<uuid:job_id>/", api.job_detail, name="api-job"),
    path("jobs/<uuid:job_id>/cancel/", api.job_cancel, name="api-job-cancel"),
    path("jobs/<uuid:job_id>/retry/", api.job_retry, name="api-job-retry"),
    path("internal/jobs/backlog/", api.backlog, name="api-backlog"),
    path("storage/upload/<str:token>/", api.local_upload, name="api-local-upload"),
]
