"""A client chooses its WebSocket close code; the disconnect counter must not let it
add series to the scrape (moa_ws_disconnects_total's `code` label is bounded)."""

from project.ws_frames import CLOSE_NOT_A_MEMBER, close_code_label


def test_known_close_codes_are_counted_by_name_and_any_other_as_other():
    assert [close_code_label(code) for code in (1000, 1006, 1012, CLOSE_NOT_A_MEMBER, None)] \
        == ["1000", "1006", "1012", "4403", "none"]
    chosen = {close_code_label(code) for code in range(3000, 5000)} - {
        "4401", "4403", "4404", "4413", "4429"}
    assert chosen == {"other"}
