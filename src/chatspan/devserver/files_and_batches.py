"""Dispatch of the Files and Batch API requests, after the batches the clock has finished are settled."""

from __future__ import annotations

from chatspan.devserver.answers import Answer, ContentAnswer, JsonAnswer
from chatspan.devserver.batch_endpoints import cancel_batch, create_batch, list_batches, retrieve_batch
from chatspan.devserver.files import create_file, delete_file, file_content, list_files, retrieve_file
from chatspan.devserver.state import ServerState
from chatspan.devserver.stored import Query


def answer_files_and_batches(
    state: ServerState, endpoint: str, object_id: str, query: Query, raw: bytes, content_type: str
) -> Answer:
    """The answer of a `files.*` or `batches.*` endpoint (`object_id`: the file or batch id in the path).

    Batches finish with the clock, not in the background: first the files of those that have
    finished are stored, so every Files and Batch request sees them.
    """
    now = state.clock()
    state.batches.settle(now, state.files)
    if endpoint == "files.create":
        return JsonAnswer(create_file(state.files, raw, content_type, now))
    if endpoint == "files.list":
        return JsonAnswer(list_files(state.files, query, now))
    if endpoint == "files.retrieve":
        return JsonAnswer(retrieve_file(state.files, object_id, now))
    if endpoint == "files.delete":
        return JsonAnswer(delete_file(state.files, object_id, now))
    if endpoint == "files.content":
        content = file_content(state.files, object_id, now)
        return ContentAnswer(content.lines(), content.line_count)
    if endpoint == "batches.create":
        return JsonAnswer(create_batch(state.batches, state.files, raw, now, state.batch_seconds))
    if endpoint == "batches.list":
        return JsonAnswer(list_batches(state.batches, query, now))
    if endpoint == "batches.retrieve":
        return JsonAnswer(retrieve_batch(state.batches, object_id, now))
    return JsonAnswer(cancel_batch(state.batches, object_id, now))
