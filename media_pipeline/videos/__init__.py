"""Videos: uploads straight to storage, the `video.encode` job (probe, HLS ladder),
playback. Depends on the job engine, never on members. Empty on purpose: the probe's
child process imports this package and must not load Django."""
