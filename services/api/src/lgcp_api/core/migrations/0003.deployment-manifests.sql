-- The manifests preview: the objects the listener last rendered for a deployment, reported
-- before it applied them. Secret values never arrive here (the API refuses unredacted ones).

CREATE TABLE deployment_manifests (
    deployment_id  uuid PRIMARY KEY REFERENCES deployments (id) ON DELETE CASCADE,
    revision_id    uuid NOT NULL REFERENCES revisions (id) ON DELETE CASCADE,
    manifests      jsonb NOT NULL,
    rendered_at    timestamptz NOT NULL DEFAULT now()
);
