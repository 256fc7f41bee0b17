"""A minimal Agent Client Protocol client for one turn of an agent that can continue a session only over ACP:
`python acp.py SESSION_ID MODEL PROMPT -- AGENT_COMMAND...` starts the agent, loads the session, picks the model
(session/set_model: a loaded session otherwise runs on the provider's default model), sends the prompt, allows
the agent's permission requests, prints the agent's message text and exits with 0 when the turn ended normally.
Standalone (the agent's closed environment has no PYTHONPATH); every wait is bounded by the caller's time limit."""

import json
import os
import subprocess
import sys
from typing import Final

PROTOCOL_VERSION: Final = 1


class Client:
    def __init__(self, command: list[str]) -> None:
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.next_id = 0
        self.text: list[str] = []

    def send(self, message: dict[str, object]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"jsonrpc": "2.0", **message}) + "\n")
        self.process.stdin.flush()

    def request(self, method: str, params: dict[str, object], collect: bool = False) -> dict[str, object]:
        self.next_id += 1
        self.send({"id": self.next_id, "method": method, "params": params})
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if message.get("id") == self.next_id and "method" not in message:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result") or {})
            self.handle(message, collect)
        raise RuntimeError(f"{method}: the agent closed its output")

    def handle(self, message: dict[str, object], collect: bool) -> None:
        params = message.get("params") if isinstance(message.get("params"), dict) else {}
        assert isinstance(params, dict)
        if message.get("method") == "session/request_permission":
            options = [o for o in params.get("options") or [] if isinstance(o, dict)]
            allow = next(
                (o for o in options if str(o.get("kind", "")).startswith("allow")), options[0] if options else {}
            )
            outcome = {"outcome": "selected", "optionId": allow.get("optionId")}
            self.send({"id": message.get("id"), "result": {"outcome": outcome}})
            return
        update = params.get("update") if isinstance(params.get("update"), dict) else {}
        assert isinstance(update, dict)
        content = update.get("content") if isinstance(update.get("content"), dict) else {}
        assert isinstance(content, dict)
        if collect and update.get("sessionUpdate") == "agent_message_chunk" and content.get("type") == "text":
            self.text.append(str(content.get("text")))


def main(argv: list[str]) -> int:
    session, model, prompt, separator, *command = argv
    if separator != "--" or not command:
        print("usage: acp.py SESSION_ID MODEL PROMPT -- AGENT_COMMAND...", file=sys.stderr)
        return 2
    client: Final = Client(command)
    try:
        client.request("initialize", {"protocolVersion": PROTOCOL_VERSION, "clientCapabilities": {}})
        client.request("session/load", {"sessionId": session, "cwd": os.getcwd(), "mcpServers": []})
        client.request("session/set_model", {"sessionId": session, "modelId": model})
        text = {"type": "text", "text": prompt}
        result = client.request("session/prompt", {"sessionId": session, "prompt": [text]}, collect=True)
    except RuntimeError as error:
        print(f"acp: {error}", file=sys.stderr)
        return 1
    finally:
        if client.process.stdin is not None:
            client.process.stdin.close()
        try:
            client.process.wait(10)
        except subprocess.TimeoutExpired:
            client.process.kill()
    print("".join(client.text))
    return 0 if result.get("stopReason") == "end_turn" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
