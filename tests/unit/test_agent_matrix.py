"""The agent matrix's own checks (tests/agent_matrix/run.py) on crafted records: they pass what they must and fail
what they must, with the reason."""

import json
from typing import Final

from tests.agent_matrix.agents import AGENTS, Turn
from tests.agent_matrix.recorder import Exchange
from tests.agent_matrix.run import (
    FOLLOW_WORD,
    SECRET,
    TurnResult,
    check_follow_up,
    check_read,
    check_reasoning,
    why_codex_first_piece,
    why_pi_store,
)

READ_TURN: Final = Turn("read", reasoning=True, resume=False)
CALL: Final = {"type": "tool-call", "toolCallId": "call_1", "toolName": "read", "input": {"path": "/w/notes.txt"}}


def result_part(call_id: str, text: str) -> dict[str, object]:
    output = {"type": "text", "value": text}
    return {"type": "tool-result", "toolCallId": call_id, "toolName": "read", "output": output}


def record(messages: list[dict[str, object]], effort: str | None = "high", status: int = 200) -> dict[str, object]:
    params: dict[str, object] = {"messages": messages, "tools": [{"name": "read"}]}
    if effort is not None:
        params["reasoning_effort"] = effort
    return {"status": status, "scenario": "agent", "body": {"params": params}}


def turn(fake: list[dict[str, object]], stdout: str, exchanges: list[Exchange] | None = None) -> TurnResult:
    return TurnResult(READ_TURN, 0, stdout, "", 1.0, fake, exchanges or [])


def history(call_id: str = "call_1", reasoning: bool = True) -> list[dict[str, object]]:
    assistant: list[object] = (
        [{"type": "reasoning", "text": "The user needs read. I will call it."}] if reasoning else []
    )
    return [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [*assistant, CALL]},
        {"role": "tool", "content": [result_part(call_id, f"1: The secret word is {SECRET}.")]},
    ]


def test_read_passes_on_a_paired_result_with_the_content_and_fails_without_pairing() -> None:
    assert check_read(turn([record(history())], f"It says {SECRET}")) == "pass (read)"
    unpaired = check_read(turn([record(history(call_id="call_2"))], f"It says {SECRET}"))
    assert unpaired.startswith("FAIL: no tool result with the file's content reached the fake server")
    assert check_read(turn([record(history())], "nothing")).startswith("FAIL: the final answer is not printed")


def test_reasoning_needs_the_expected_effort_and_reasoning_shown_or_kept() -> None:
    agent = next(agent for agent in AGENTS if agent.name == "codex")
    follow = turn([record([*history(), {"role": "user", "content": FOLLOW_WORD}])], "")
    assert check_reasoning(agent, turn([record(history())], ""), follow) == "pass (high; kept)"
    assert check_reasoning(agent, turn([record(history(), effort="max")], ""), follow) == (
        "FAIL: reasoning_effort on the wire ['max'], expected ['high']"
    )
    dropped = turn([record([*history(reasoning=False), {"role": "user", "content": FOLLOW_WORD}])], "")
    assert check_reasoning(agent, turn([record(history())], ""), dropped).startswith("FAIL: effort high arrived")


def test_follow_up_needs_the_earlier_round_trip_in_its_history() -> None:
    last = {"role": "user", "content": f"[[fake:agent reply={FOLLOW_WORD}]]"}
    assert check_follow_up(turn([record([*history(), last])], FOLLOW_WORD)) == "pass"
    assert check_follow_up(turn([record([last])], FOLLOW_WORD)) == (
        "FAIL: the follow-up's history lacks the earlier tool call and its result"
    )
    assert check_follow_up(turn([record([*history(), last], status=400)], FOLLOW_WORD)).startswith(
        "FAIL: fake server answered 400"
    )


def sse(*events: dict[str, object]) -> bytearray:
    return bytearray("".join(f"data: {json.dumps(event)}\n\n" for event in events).encode())


def completed(text: str) -> dict[str, object]:
    message = {"type": "message", "content": [{"type": "output_text", "text": text}]}
    return {"type": "response.completed", "response": {"output": [message]}}


def test_codex_first_piece_compares_the_text_deltas_with_the_completed_text() -> None:
    whole = Exchange("POST", "/v1/responses", b"{}", 200, sse({"type": "response.output_text.delta", "delta": "Hi"}))
    whole.response_body += sse({"type": "response.output_text.delta", "delta": " there"}, completed("Hi there"))
    assert why_codex_first_piece([turn([], "", [whole])]) == "pass (1 streams: deltas join to the completed text)"
    lost = Exchange("POST", "/v1/responses", b"{}", 200, sse(completed("Hi there")))
    assert why_codex_first_piece([turn([], "", [lost])]) == (
        "FAIL: output_text.delta joined '' != completed text 'Hi there'"
    )


def test_pi_store_needs_the_parameter_sent_and_answered() -> None:
    sent = Exchange("POST", "/v1/chat/completions", b'{"store": false}', 200)
    assert why_pi_store([turn([], "", [sent])]) == "pass (1 requests with store answered 200)"
    refused = Exchange(
        "POST", "/v1/chat/completions", b'{"store": false}', 400, bytearray(b'{"error": {"message": "no"}}')
    )
    assert why_pi_store([turn([], "", [refused])]) == "FAIL: /chat/completions with store answered 400: no"
    assert why_pi_store([turn([], "", [])]) == "FAIL: the agent sent no store to /chat/completions"
