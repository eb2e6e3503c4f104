"""The sample agent: a small deterministic LangGraph graph (no model, no network).

It answers each human message with an echo that counts the conversation's turns, so a thread's
state shows whether it survived a restart (the count goes on) and which image revision answered
(/app/REVISION, written at build time; SAMPLE_AGENT_REVISION overrides it).

`app` is the server's custom app (langgraph.json's `http.app`; LANGGRAPH_HTTP in the image): no
routes, only a lifespan that starts the server's request metrics. langgraph-api counts every
request (by method, route and status) and its latency into its OpenTelemetry reporter, which
serves them on `<mount prefix>/metrics`, but only once `get_otlp_metrics_reporter().initialize()`
has run. The in-memory runtime's lifespan calls it; langgraph-runtime-pg's (0.11.1) does not, nor
does it start langgraph-api's collector loop (whose worker figures fail on runtime-pg's empty
`get_metrics()`). langgraph-api enters this lifespan after its own (the database pool is open), so
it initializes the reporter and samples the queue depth (`num_pending_runs`, `num_running_runs`)
every STATS_INTERVAL_SECS, as the collector loop does on the runtimes that start it.
"""

# No `from __future__ import annotations`: the server also loads this file as the custom app's
# module, outside sys.modules, where StateGraph could not resolve State's string annotations.
import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, TypedDict

import structlog
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from starlette.applications import Starlette


class State(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    turns: int


def respond(state: State) -> State:
    """One AI message per run: `echo #<turn> (revision <r>): <last human text>`."""
    humans = [m for m in state.get("messages", []) if isinstance(m, HumanMessage)]
    text = humans[-1].content if humans else ""
    turns = state.get("turns", 0) + 1
    revision = os.environ.get("SAMPLE_AGENT_REVISION") or _built_revision()
    return {"messages": [AIMessage(content=f"echo #{turns} (revision {revision}): {text}")], "turns": turns}


def _built_revision() -> str:
    try:
        return Path("/app/REVISION").read_text().strip()
    except OSError:
        return "dev"  # run from a checkout, not the image


builder = StateGraph(State)
builder.add_node("respond", respond)
builder.add_edge(START, "respond")
builder.add_edge("respond", END)
graph = builder.compile()

_logger = structlog.stdlib.get_logger(__name__)


async def _sample_queue_depth(interval: float) -> None:
    from langgraph_api.metrics_otlp import (  # noqa: PLC0415 (the server's config must load first)
        GAUGE_NUM_PENDING_RUNS,
        GAUGE_NUM_RUNNING_RUNS,
        get_otlp_metrics_reporter,
    )
    from langgraph_runtime.database import connect  # noqa: PLC0415
    from langgraph_runtime.ops import Runs  # noqa: PLC0415

    reporter = get_otlp_metrics_reporter()
    while True:
        try:
            async with connect() as conn:
                stats = await Runs.stats(conn)
            reporter.record_gauge(GAUGE_NUM_PENDING_RUNS, stats["n_pending"])
            reporter.record_gauge(GAUGE_NUM_RUNNING_RUNS, stats["n_running"])
        except Exception as exc:  # a database hiccup must not stop the sampling
            await _logger.awarning("sample agent: queue depth sample failed", exc_info=exc)
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def lifespan(_app: Starlette) -> AsyncIterator[None]:
    from langgraph_api import config  # noqa: PLC0415
    from langgraph_api.metrics_otlp import get_otlp_metrics_reporter  # noqa: PLC0415

    get_otlp_metrics_reporter().initialize()
    sampler = asyncio.create_task(_sample_queue_depth(float(config.STATS_INTERVAL_SECS)))
    try:
        yield
    finally:
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler


app = Starlette(lifespan=lifespan)
