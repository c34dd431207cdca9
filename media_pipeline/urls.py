from django.urls import path

from media_pipeline.jobs import api as jobs_api
from media_pipeline.members import api as members_api
from media_pipeline.videos import api as videos_api

urlpatterns = [
    path("jobs/", jobs_api.job_list, name="api-jobs"),
    path("jobs/<uuid:job_id>/", jobs_api.job_detail, name="api-job"),
    path("jobs/<uuid:job_id>/cancel/", jobs_api.job_cancel, name="api-job-cancel"),
    path("jobs/<uuid:job_id>/retry/", jobs_api.job_retry, name="api-job-retry"),
    path("internal/jobs/backlog/", jobs_api.backlog, name="api-backlog"),
    path("videos/", videos_api.videos, name="api-videos"),
    path("videos/<uuid:video_id>/", videos_api.video_detail, name="api-video"),
    path("videos/<uuid:video_id>/upload-complete/", videos_api.video_upload_complete,
         name="api-video-upload-complete"),
    path("videos/<uuid:video_id>/hls/<str:token>/<path:name>", videos_api.hls_file,
         name="api-video-hls"),
    path("teams/<int:team_id>/members/import/", members_api.member_import,
         name="api-member-import"),
    path("members/import/example.xlsx", members_api.member_import_example,
         name="api-member-import-example"),
    path("storage/upload/<str:token>/", videos_api.local_upload, name="api-local-upload"),
]
