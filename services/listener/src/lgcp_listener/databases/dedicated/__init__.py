"""`dedicated` database mode: every agent gets a Postgres StatefulSet and a Redis of its own, in
its namespace, next to its LangGraph server.

- `names`: what each object is called, and the URIs of the agent's own servers (pure);
- `objects`: the credentials Secret, StatefulSets, Services and NetworkPolicy (pure);
- `readiness`: whether both databases are rolled out and ready (pure);
- `mode.DedicatedMode`: the strategy, with the I/O (passwords and dropping the data).

Passwords are generated once and stored in the agent's credentials Secret
(`<name>-db-credentials`) by `provision`, before any database pod exists; after a crash or a
restart they are read back from it (or, if it was lost, from the agent's env Secret).

Ownership and data: the StatefulSets, their Services and the NetworkPolicy are owned by the
agent's Deployment and go with it. The Postgres volume (the StatefulSet's claim, kept by
`persistentVolumeClaimRetentionPolicy: Retain`) and the credentials Secret are owned by nothing:
they are the agent's data. Only a deletion the API asked for, with retention `delete`, removes
them (`DedicatedMode.release`), by their names and only when labelled as that deployment's. An
orphan, or a deletion with retention `retain`, keeps both, and a later deployment of the same
name is refused rather than handed someone else's data.

Redis holds nothing durable for a LangGraph server (run streams and queue wake-ups): it runs
without persistence, so only Postgres has a volume. A StatefulSet's `volumeClaimTemplates`,
`selector`, `serviceName` and `podManagementPolicy` are immutable: they never change for an
existing agent. The claim's size and class are taken from the live StatefulSet when there is one
(a changed setting applies to new agents only).
"""
