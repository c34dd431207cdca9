"""The pure video rules: rungs, commands, progress, playlists, upload checks, and what
an upload may make FFmpeg do."""

import itertools

import pytest

from media_pipeline.videos.hls import (
    Rendition,
    master_playlist,
    parse_media_playlist,
    segment_bandwidth,
)
from media_pipeline.videos.ladder import (
    DEMUXERS,
    FFMPEG_CPU_FLOOR_SECONDS,
    MAX_OUTPUT_FRAME_RATE,
    Source,
    encode_command,
    ffmpeg_cpu_seconds,
    ffmpeg_limit_hit,
    ffmpeg_tasks,
    plan_rungs,
    progress_seconds,
    size_problem,
    thumbnail_command,
    upload_problems,
    work_problem,
)


def source(width, height, rotation=0, audio=True, *, fps=30.0, duration=30.0) -> Source:
    return Source(width=width, height=height, rotation=rotation, duration=duration,
                  has_audio=audio, frame_rate=fps)


def shapes(rungs) -> list[tuple[str, int, int]]:
    return [(rung.name, rung.width, rung.height) for rung in rungs]


def test_a_1080p_source_gets_the_whole_ladder_lowest_first():
    assert shapes(plan_rungs(source(1920, 1080))) == [
        ("360p", 640, 360), ("480p", 854, 480), ("720p", 1280, 720), ("1080p", 1920, 1080)]


def test_no_rung_is_taller_than_the_source():
    assert shapes(plan_rungs(source(1280, 720))) == [
        ("360p", 640, 360), ("480p", 854, 480), ("720p", 1280, 720)]


def test_a_source_below_the_lowest_rung_keeps_its_own_size():
    assert shapes(plan_rungs(source(320, 240))) == [("240p", 320, 240)]
    assert shapes(plan_rungs(source(321, 241))) == [("240p", 320, 240)]  # even sides


@pytest.mark.parametrize("rotation", [90, -90, 270])
def test_a_rotated_phone_clip_is_laddered_upright(rotation):
    assert shapes(plan_rungs(source(1280, 720, rotation))) == [
        ("360p", 360, 640), ("480p", 480, 854), ("720p", 720, 1280)]


def test_upside_down_keeps_the_landscape_shape():
    assert shapes(plan_rungs(source(1280, 720, 180)))[-1] == ("720p", 1280, 720)


def test_the_aspect_ratio_is_kept_with_even_sides():
    rungs = plan_rungs(source(1440, 1080))  # 4:3
    assert shapes(rungs)[0] == ("360p", 480, 360)
    assert all(rung.width % 2 == rung.height % 2 == 0 for rung in rungs)


def test_the_codecs_attribute_names_main_profile_and_the_level():
    rungs = {rung.name: rung for rung in plan_rungs(source(1920, 1080))}
    assert rungs["360p"].codecs == "avc1.4d401e"  # Main, level 3.0
    assert rungs["720p"].codecs == "avc1.4d401f"  # 3.1
    assert rungs["1080p"].codecs == "avc1.4d4028"  # 4.0


def test_the_encode_command_maps_audio_only_when_there_is_some():
    rung = plan_rungs(source(640, 360))[0]
    with_audio = encode_command("ffmpeg", "in.mp4", source(640, 360), rung, "out", 7680)
    silent = encode_command("ffmpeg", "in.mp4", source(640, 360, audio=False), rung, "out",
                            7680)
    assert "0:a:0" in with_audio and "0:a:0" not in silent
    assert with_audio[-1] == "out/index.m3u8" and "scale=640:360,setsar=1" in with_audio
    assert "pipe:1" in with_audio  # progress comes from ffmpeg's own output


def input_options_of(command: list[str]) -> dict[str, str]:
    """The options given before `-i` (each flag with its value)."""
    before = command[:command.index("-i")]
    return {flag: value for flag, value in itertools.pairwise(before) if flag.startswith("-")}


def test_every_ffmpeg_command_reads_its_input_through_the_allow_lists():
    src = source(1280, 720)
    rung = plan_rungs(src)[0]
    for command in (encode_command("ffmpeg", "in.mp4", src, rung, "out", 7680),
                    thumbnail_command("ffmpeg", "in.mp4", src, "t.jpg", 7680)):
        options = input_options_of(command)
        assert options["-protocol_whitelist"] == "file,pipe"
        assert options["-format_whitelist"] == ",".join(DEMUXERS)
        assert options["-max_pixels"] == str(7680 * 7680)


def test_the_allow_list_names_each_container_family_and_no_list_or_playlist():
    assert {"mov", "matroska", "avi", "mpegts"} <= set(DEMUXERS)
    assert not {"hls", "dash", "concat", "image2", "webm_dash_manifest"} & set(DEMUXERS)


def test_the_encode_stops_at_the_probed_duration_plus_a_second():
    command = encode_command("ffmpeg", "in.mkv", source(640, 360), plan_rungs(
        source(640, 360))[0], "out", 7680)
    assert command[command.index("-t") + 1] == "31.000"  # the source claims 30 s
    assert command.index("-t") > command.index("-i")  # an output option


@pytest.mark.parametrize(("width", "height", "refused"), [
    (7680, 4320, False), (7680, 7680, False), (7681, 100, True), (100, 7681, True),
    (16384, 8192, True)])
def test_a_declared_size_over_the_limit_on_either_side_is_refused(width, height, refused):
    problem = size_problem(width, height, 7680)
    assert (problem is not None) == refused
    if refused:
        assert f"{width}x{height}" in problem and "VIDEO_MAX_DIMENSION" in problem


def cpu(src: Source, rung_index: int = 0) -> int:
    return ffmpeg_cpu_seconds(src, plan_rungs(src)[rung_index])


def test_the_ffmpeg_cpu_limit_follows_the_pixels_not_the_seconds():
    assert cpu(source(640, 360, duration=0.0)) == FFMPEG_CPU_FLOOR_SECONDS
    assert cpu(source(1920, 1080, duration=3600)) > cpu(source(1920, 1080, duration=60))
    # Same duration, 16 times the pixels per second to decode: 16 times the budget.
    small, large = source(1920, 1080, fps=30), source(7680, 4320, fps=60)
    assert cpu(large) - FFMPEG_CPU_FLOOR_SECONDS > 4 * (cpu(small) - FFMPEG_CPU_FLOOR_SECONDS)


def test_the_ffmpeg_cpu_limit_leaves_room_for_an_honest_slow_encode():
    # Measured here: 1.3 CPU-s per decoded gigapixel (4K60 gray to 360p), 10 per
    # encoded gigapixel (noisy 720p to 720p, veryfast); a 1080p rung of 1080p30 took
    # 0.6 CPU-s per source second. Every limit is several times that.
    hour = source(1920, 1080, fps=30, duration=3600)
    assert cpu(hour, -1) >= 8 * 0.6 * 3600
    assert cpu(source(3840, 2160, fps=60, duration=600)) >= 8 * 1.3 * 3840 * 2160 * 60 * 600 / 1e9


def test_the_8k_gray_clip_of_the_review_no_longer_gets_forty_cpu_hours():
    """108 KB of 7680x4320 60 fps gray frames declaring 4 h: refused before encoding;
    the largest such clip that fits costs each rung a bounded budget."""
    clip = source(7680, 4320, fps=60, duration=4 * 3600)
    problem = work_problem(clip, max_frame_rate=240, max_gigapixels=1000)
    assert problem is not None and "28,665 gigapixels" in problem
    assert "VIDEO_MAX_GIGAPIXELS" in problem and "at most 502 s fit" in problem
    fitting = source(7680, 4320, fps=60, duration=500)
    assert work_problem(fitting, max_frame_rate=240, max_gigapixels=1000) is None
    # Its cost at the measured 1.1-1.3 CPU-s per decoded gigapixel: about 1.2 CPU-hours
    # over four rungs. The limits allow ten times the measured rates, for slower machines
    # and costlier content: under a day, where the duration alone allowed 320 hours.
    assert sum(cpu(fitting, index) for index in range(4)) < 24 * 3600


def test_four_hours_of_1080p30_fit_the_default_pixel_limit():
    honest = source(1920, 1080, fps=30, duration=4 * 3600)
    assert work_problem(honest, max_frame_rate=240, max_gigapixels=1000) is None


@pytest.mark.parametrize(("fps", "refused"), [(240, False), (240.5, True), (1000, True)])
def test_a_frame_rate_over_the_limit_is_refused_saying_what_to_do(fps, refused):
    problem = work_problem(source(320, 240, fps=fps, duration=1), max_frame_rate=240,
                           max_gigapixels=1000)
    assert (problem is not None) == refused
    if refused:
        assert "VIDEO_MAX_FRAME_RATE" in problem and "lower frame rate" in problem


@pytest.mark.parametrize(("fps", "thinned"), [(30, False), (60, False), (59.94, False),
                                              (120, True), (240, True)])
def test_renditions_are_encoded_at_most_at_60_fps_dropping_frames_before_scaling(fps,
                                                                                thinned):
    src = source(1280, 720, fps=fps)
    command = encode_command("ffmpeg", "in.mp4", src, plan_rungs(src)[0], "out", 7680)
    video_filter = command[command.index("-vf") + 1]
    assert video_filter.startswith(f"fps={MAX_OUTPUT_FRAME_RATE},scale=") == thinned
    assert video_filter.endswith("scale=640:360,setsar=1")


def test_an_ffmpeg_run_may_have_more_tasks_on_more_cores():
    assert ffmpeg_tasks(2) < ffmpeg_tasks(64)
    assert ffmpeg_tasks(64) >= 1.5 * 64 + 16 + 64  # x264 threads, decoder, filters


@pytest.mark.parametrize(("returncode", "said_memory", "limit"), [
    (255, False, "cpu"), (123, False, "cpu"),  # SIGXCPU, once or "more than 3 signals"
    (244, False, "memory"), (187, True, "memory"), (1, True, "memory"),
    (1, False, None), (187, False, None), (0, True, None)])
def test_the_limit_that_stopped_ffmpeg_is_read_from_its_exit(returncode, said_memory, limit):
    assert ffmpeg_limit_hit(returncode, said_memory) == limit


def test_progress_reads_the_output_time_in_microseconds():
    assert progress_seconds({"out_time_us": "2500000", "progress": "continue"}) == 2.5
    assert progress_seconds({"out_time_ms": "1000000"}) == 1.0  # same unit, older name
    assert progress_seconds({"out_time_us": "N/A"}) is None


def test_bandwidth_is_the_peak_segment_rate_and_the_average():
    assert segment_bandwidth([(4.0, 500_000), (4.0, 1_000_000), (2.0, 100_000)]) == (
        2_000_000, int(1_600_000 * 8 / 10))
    assert segment_bandwidth([]) == (0, 0)


def test_media_playlists_parse_into_durations_and_names():
    text = ("#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.000000,\nseg_00000.ts\n"
            "#EXTINF:1.5,\nseg_00001.ts\n#EXT-X-ENDLIST\n")
    assert parse_media_playlist(text) == [(4.0, "seg_00000.ts"), (1.5, "seg_00001.ts")]


def test_the_master_lists_renditions_lowest_first_with_their_attributes():
    low, high = plan_rungs(source(1280, 720))[::2]
    text = master_playlist([Rendition(high, 3_000_000, 2_500_000, True),
                            Rendition(low, 900_000, 800_000, True)])
    lines = text.splitlines()
    assert lines[:3] == ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"]
    assert lines[3] == ('#EXT-X-STREAM-INF:BANDWIDTH=900000,AVERAGE-BANDWIDTH=800000,'
                        'RESOLUTION=640x360,CODECS="avc1.4d401e,mp4a.40.2"')
    assert lines[4] == "360p/index.m3u8" and lines[6] == "720p/index.m3u8"


@pytest.mark.parametrize(("field", "value"), [
    ("title", " "), ("title", "x" * 201), ("title", "a\x00b"), ("filename", "a/b.mp4"),
    ("filename", ""), ("size", 0), ("size", True), ("size", "12"), ("size", 2001),
    ("content_type", "application/pdf"), ("content_type", None),
    ("content_type", "video/" + "x" * 95), ("content_type", "video/mp4\x00"),
    ("content_type", "video/mp4\r\nX-Injected: 1"), ("content_type", "video/mp4;<script>"),
    ("content_type", "video/"), ("content_type", "video/mp4 "),
])
def test_upload_requests_name_the_field_that_is_wrong(field, value):
    request = {"title": "Talk", "filename": "talk.mp4", "size": 2000,
               "content_type": "video/mp4", field: value}
    assert set(upload_problems(**request, max_bytes=2000)) == {field}


def test_a_good_upload_request_has_no_problems():
    assert upload_problems(title="Talk", filename="talk.mp4", size=2000,
                           content_type="video/quicktime", max_bytes=2000) == {}
