"""The sample agent: a small deterministic LangGraph graph (no model, no network).

It answers each human message with an echo that counts the conversation's turns, so a thread's
state shows whether it survived a restart (the count goes on) and which image revision answered
(/app/REVISION, written at build time; SAMPLE_AGENT_REVISION overrides it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, TypedDict

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages


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
