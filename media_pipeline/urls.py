from django.urls import path

from media_pipeline import api, import_api, video_api

urlpatterns = [
    path("jobs/", api.job_list, name="api-jobs"),
    path("jobs/<uuid:job_id>/", api.job_detail, name="api-job"),
    path("jobs/<uuid:job_id>/cancel/", api.job_cancel, name="api-job-cancel"),
    path("jobs/<uuid:job_id>/retry/", api.job_retry, name="api-job-retry"),
    path("internal/jobs/backlog/", api.backlog, name="api-backlog"),
    path("videos/", video_api.videos, name="api-videos"),
    path("videos/<uuid:video_id>/", video_api.video_detail, name="api-video"),
    path("videos/<uuid:video_id>/upload-complete/", video_api.video_upload_complete,
         name="api-video-upload-complete"),
    path("videos/<uuid:video_id>/hls/<str:token>/<path:name>", video_api.hls_file,
         name="api-video-hls"),
    path("teams/<int:team_id>/members/import/", import_api.member_import,
         name="api-member-import"),
    path("members/import/example.xlsx", import_api.member_import_example,
         name="api-member-import-example"),
    path("storage/upload/<str:token>/", video_api.local_upload, name="api-local-upload"),
]
