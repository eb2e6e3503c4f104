-- Runtime logs of agents: container log lines, Kubernetes events and the listener's own steps,
-- as the listener read and shipped them (the control plane never calls the data plane). The
-- listener redacts secret values before shipping; the API bounds what it keeps (lgcp_api.logs).

CREATE TABLE deployment_logs (
    id             bigserial PRIMARY KEY,
    deployment_id  uuid NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    revision_id    uuid REFERENCES revisions (id) ON DELETE CASCADE,
    logged_at      timestamptz NOT NULL,
    level          text NOT NULL,
    origin         text NOT NULL,
    message        text NOT NULL
);

CREATE INDEX deployment_logs_by_time ON deployment_logs (deployment_id, logged_at, id);
