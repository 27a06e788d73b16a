"""Concurrent streams on AsyncOpenAI, traced with zero code changes.

    CHATSPAN_STREAM_INCLUDE_USAGE=true opentelemetry-instrument python examples/async_stream.py

Three streams run at once under asyncio.gather: two are read to the end, one is abandoned after
its first chunks (the app breaks out of the loop and closes it). Each becomes one span whose
duration covers the whole stream and which records `gen_ai.response.time_to_first_chunk`; the
abandoned one ends when the app closes it. With CHATSPAN_STREAM_INCLUDE_USAGE=true, chatspan asks
for the usage chunk itself (the app never sees it), so the span of every stream read to its end
carries token counts.
Where the calls go is app.py's rule: OPENAI_BASE_URL / OPENAI_API_KEY, else an in-process devserver.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

import openai
from app import DEFAULT_MODEL, openai_target

PROMPTS = ("Count from one to ten.", "Name the planets in order.", "Spell 'telemetry' letter by letter.")
ABANDON_AFTER = 3
"""Chunks the third stream reads before the app stops reading it."""


async def stream(client: openai.AsyncOpenAI, model: str, prompt: str, *, abandon: bool) -> str:
    """Stream one answer; returns one line about it (ids and counts, never content)."""
    started = time.perf_counter()
    first_chunk: float | None = None
    chunks = 0
    response_id = ""
    response = await client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": prompt}], stream=True
    )
    async with response:
        async for chunk in response:
            chunks += 1
            response_id = chunk.id
            if first_chunk is None:
                first_chunk = time.perf_counter() - started
            if abandon and chunks == ABANDON_AFTER:
                break  # leaving the `async with` closes the stream: its span ends here
    outcome = "abandoned" if abandon else "complete"
    first = f"{first_chunk * 1000:.0f} ms" if first_chunk is not None else "-"
    return f"{outcome:<10} {response_id}  {chunks} chunks  first chunk after {first}"


async def run(client: openai.AsyncOpenAI, model: str) -> None:
    async with client:
        lines = await asyncio.gather(
            *(
                stream(client, model, prompt, abandon=i == len(PROMPTS) - 1)
                for i, prompt in enumerate(PROMPTS)
            )
        )
    for line in lines:
        print(line)


def main() -> int:
    """Run the three streams; returns the process exit code."""
    model = os.environ.get("CHATSPAN_MODEL") or DEFAULT_MODEL
    with openai_target() as target:
        if target is None:
            return 2
        try:
            client = openai.AsyncOpenAI(base_url=target.base_url, api_key=target.api_key)
        except openai.OpenAIError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        asyncio.run(run(client, model))
    return 0


if __name__ == "__main__":
    sys.exit(main())
