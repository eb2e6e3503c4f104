-- Per-deployment metrics (issue 16): the figures the listener gathered (replicas, restarts, pod
-- CPU and memory, the agent's own /metrics), per revision, kept downsampled by lgcp_api.metrics:
-- 10 s buckets for an hour, 1 min buckets for a day. A bucket keeps the sum and the number of
-- the samples that fell in it, so a second sample in the same bucket averages instead of
-- overwriting, and a read over a coarser step averages buckets without losing their weight.

CREATE TABLE deployment_metrics (
    deployment_id  uuid NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    revision_id    uuid NOT NULL REFERENCES revisions (id) ON DELETE CASCADE,
    resolution     integer NOT NULL CHECK (resolution IN (10, 60)),
    bucket         timestamptz NOT NULL,
    figure         text NOT NULL,
    value_sum      double precision NOT NULL,
    samples        integer NOT NULL CHECK (samples > 0),
    PRIMARY KEY (deployment_id, resolution, bucket, revision_id, figure)
);

CREATE INDEX deployment_metrics_by_revision ON deployment_metrics (revision_id, resolution, bucket);
