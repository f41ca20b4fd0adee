"""Viewer-friendly SQL views over the event log, so ``sqlite3 pyclaw.db`` or Datasette tells the story.

* ``v_events``: every event with a one-line ``summary`` and its payload text.
* ``v_turns``: one row per run: user text, final assistant text, status, tokens, cost, duration.
* ``v_tool_calls``: each ``tool_call`` joined with its ``tool_result`` by call id.
* ``v_llm_calls``: each ``llm_request`` joined with its ``llm_response`` by call id.

Payloads offloaded to the artifact store (``payload`` NULL, ``payload_ref`` set) show their
``payload_ref`` and NULL for fields read from the JSON.
"""

from __future__ import annotations


def _message_text(payload: str) -> str:
    """SQL for the concatenated text parts of ``<payload>.message``."""
    return (
        "(SELECT group_concat(json_extract(part.value, '$.text'), '') "
        f"FROM json_each({payload}, '$.message.parts') AS part "
        "WHERE json_extract(part.value, '$.kind') = 'text')"
    )


def _message_tool_names(payload: str) -> str:
    return (
        "(SELECT group_concat(json_extract(part.value, '$.call.name'), ', ') "
        f"FROM json_each({payload}, '$.message.parts') AS part "
        "WHERE json_extract(part.value, '$.kind') = 'tool_call')"
    )


_SUMMARY = f"""
    CASE e.kind
        WHEN 'user_message' THEN {_message_text("e.payload")}
        WHEN 'assistant_message' THEN coalesce(
            nullif({_message_text("e.payload")}, ''),
            '[tool calls: ' || {_message_tool_names("e.payload")} || ']')
        WHEN 'tool_call' THEN json_extract(e.payload, '$.call.name')
            || '(' || json_extract(e.payload, '$.call.arguments') || ')'
        WHEN 'tool_result' THEN json_extract(e.payload, '$.result.name') || ' -> '
            || json_extract(e.payload, '$.result.status') || ': '
            || substr(json_extract(e.payload, '$.result.content'), 1, 200)
        WHEN 'llm_request' THEN json_extract(e.payload, '$.provider') || ' '
            || json_extract(e.payload, '$.request.model')
        WHEN 'llm_response' THEN json_extract(e.payload, '$.provider') || ' '
            || coalesce(json_extract(e.payload, '$.response.stop_reason'),
                        'error: ' || json_extract(e.payload, '$.error.message'))
        WHEN 'policy_decision' THEN json_extract(e.payload, '$.decision.verdict') || ' '
            || json_extract(e.payload, '$.decision.tool') || ': '
            || json_extract(e.payload, '$.decision.reason')
        WHEN 'approval_requested' THEN json_extract(e.payload, '$.request.call.name') || ': '
            || json_extract(e.payload, '$.request.reason')
        WHEN 'approval_resolved' THEN json_extract(e.payload, '$.decision.verdict') || ' by '
            || json_extract(e.payload, '$.decision.decided_by')
        WHEN 'guard_action' THEN json_extract(e.payload, '$.hook') || ' '
            || json_extract(e.payload, '$.action') || ': ' || json_extract(e.payload, '$.reason')
        WHEN 'run_started' THEN json_extract(e.payload, '$.agent')
            || coalesce(' (' || json_extract(e.payload, '$.trigger') || ')', '')
        WHEN 'run_finished' THEN json_extract(e.payload, '$.status')
            || coalesce(': ' || json_extract(e.payload, '$.error.message'), '')
        WHEN 'summary' THEN json_extract(e.payload, '$.text')
        WHEN 'note' THEN json_extract(e.payload, '$.text')
        WHEN 'error' THEN json_extract(e.payload, '$.error.type') || ': '
            || json_extract(e.payload, '$.error.message')
        WHEN 'custom' THEN json_extract(e.payload, '$.name')
    END"""

VIEWS_SQL = f"""
CREATE VIEW v_events AS
SELECT
    e.session_id,
    e.seq,
    e.ts,
    e.kind,
    e.run_id,
    {_SUMMARY} AS summary,
    e.payload,
    e.payload_ref,
    e.id AS event_id,
    e.hash
FROM events AS e;

CREATE VIEW v_turns AS
SELECT
    r.id AS run_id,
    r.session_id,
    s.channel,
    r.agent,
    r.trigger,
    r.status,
    coalesce(
        (SELECT {_message_text("u.payload")} FROM events AS u
         WHERE u.run_id = r.id AND u.kind = 'user_message' ORDER BY u.seq LIMIT 1),
        (SELECT {_message_text("u.payload")} FROM events AS u
         WHERE u.session_id = r.session_id AND u.kind = 'user_message'
           AND u.seq < (SELECT st.seq FROM events AS st
                        WHERE st.run_id = r.id AND st.kind = 'run_started')
         ORDER BY u.seq DESC LIMIT 1)
    ) AS user_text,
    (SELECT {_message_text("a.payload")} FROM events AS a
     WHERE a.run_id = r.id AND a.kind = 'assistant_message'
     ORDER BY coalesce(json_extract(a.payload, '$.final'), 0) DESC, a.seq DESC LIMIT 1
    ) AS final_text,
    r.input_tokens,
    r.output_tokens,
    r.cached_tokens,
    r.cost_usd,
    r.started_at,
    r.finished_at,
    CASE WHEN r.finished_at IS NOT NULL
        THEN round((julianday(r.finished_at) - julianday(r.started_at)) * 86400000.0, 1)
    END AS duration_ms,
    json_extract(r.error, '$.message') AS error
FROM runs AS r
JOIN sessions AS s ON s.id = r.session_id;

CREATE VIEW v_tool_calls AS
SELECT
    c.session_id,
    c.run_id,
    c.seq,
    res.seq AS result_seq,
    json_extract(c.payload, '$.call.id') AS call_id,
    json_extract(c.payload, '$.call.name') AS tool,
    json_extract(c.payload, '$.call.arguments') AS arguments,
    json_extract(res.payload, '$.result.status') AS status,
    json_extract(res.payload, '$.result.duration_ms') AS duration_ms,
    substr(json_extract(res.payload, '$.result.content'), 1, 200) AS content_preview,
    json_extract(res.payload, '$.result.error.message') AS error,
    c.ts AS called_at,
    res.ts AS finished_at
FROM events AS c
LEFT JOIN events AS res
    ON res.kind = 'tool_result'
    AND res.session_id = c.session_id
    AND json_extract(res.payload, '$.result.call_id') = json_extract(c.payload, '$.call.id')
WHERE c.kind = 'tool_call';

CREATE VIEW v_llm_calls AS
SELECT
    q.session_id,
    q.run_id,
    q.seq,
    resp.seq AS response_seq,
    json_extract(q.payload, '$.call_id') AS call_id,
    json_extract(q.payload, '$.provider') AS provider,
    coalesce(json_extract(resp.payload, '$.response.model'),
             json_extract(q.payload, '$.request.model')) AS model,
    json_extract(resp.payload, '$.response.usage.input_tokens') AS input_tokens,
    json_extract(resp.payload, '$.response.usage.output_tokens') AS output_tokens,
    json_extract(resp.payload, '$.response.usage.cached_tokens') AS cached_tokens,
    json_extract(resp.payload, '$.response.cost_usd') AS cost_usd,
    json_extract(resp.payload, '$.response.latency_ms') AS latency_ms,
    json_extract(resp.payload, '$.response.stop_reason') AS stop_reason,
    json_extract(resp.payload, '$.error.message') AS error,
    q.ts AS requested_at,
    resp.ts AS responded_at
FROM events AS q
LEFT JOIN events AS resp
    ON resp.kind = 'llm_response'
    AND resp.session_id = q.session_id
    AND json_extract(resp.payload, '$.call_id') = json_extract(q.payload, '$.call_id')
WHERE q.kind = 'llm_request';
"""
