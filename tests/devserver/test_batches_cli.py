"""`python -m chatspan.devserver --seed-batches N --batch-seconds S` and its argument checks."""

from __future__ import annotations

import signal

import openai
import pytest

from tests.devserver.test_cli import LINE, WAIT, _first_line, _start


@pytest.mark.slow
def test_seeded_batches_and_their_pace() -> None:
    process = _start("--port", "0", "--seed-batches", "3", "--seed", "4", "--batch-seconds", "600")
    try:
        match = LINE.match(_first_line(process).rstrip("\n"))
        assert match
        with openai.OpenAI(base_url=match.group(1), api_key="sk-test", timeout=10, max_retries=0) as client:
            assert len(list(client.batches.list())) == 3
            uploaded = client.files.create(
                file=(
                    "in.jsonl",
                    b'{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": '
                    b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}}\n',
                ),
                purpose="batch",
            )
            batch = client.batches.create(
                input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
            )
            # 600 s stages: asked at once, the batch is still validating.
            assert client.batches.retrieve(batch.id).status == "validating"
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=WAIT)
    assert process.returncode == 0


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seed-batches", "-1"], "--seed-batches must be at least 0"),
        (["--batch-seconds", "-1"], "--batch-seconds must be at least 0"),
        (["--batch-seconds", "nan"], "--batch-seconds must be at least 0"),
        (["--fault", "chat:truncated"], "only files.content sends"),
    ],
)
def test_refuses_bad_batch_arguments(args: list[str], message: str) -> None:
    process = _start("--port", "0", *args)
    stdout, stderr = process.communicate(timeout=WAIT)
    assert process.returncode == 2
    assert stdout == ""
    assert message in stderr
