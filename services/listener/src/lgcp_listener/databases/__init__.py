"""The database modes: where each agent's Postgres and Redis come from.

One strategy, `mode.DatabaseMode`, which `shared`, `external` and `dedicated` implement: the
objects a mode adds for an agent, the connections it hands the agent, provisioning and release,
its rollout conditions, and closing. `modes.open_database_mode` picks one from the settings; the
reconcile step and the wiring only ever talk to the protocol.
"""
