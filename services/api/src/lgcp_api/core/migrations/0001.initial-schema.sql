-- The control plane's whole state. Secret values only ever appear encrypted (Fernet tokens).

CREATE TABLE tenants (
    id          uuid PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id          uuid PRIMARY KEY,
    -- NULL: a platform key that reaches every tenant (only ever an admin key).
    tenant_id   uuid REFERENCES tenants (id) ON DELETE CASCADE,
    name        text NOT NULL,
    role        text NOT NULL CHECK (role IN ('admin', 'deployer', 'viewer', 'listener')),
    key_hmac    bytea NOT NULL UNIQUE,
    key_prefix  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    CHECK (tenant_id IS NOT NULL OR role = 'admin')
);

CREATE TABLE listeners (
    id              uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    compute_type    text NOT NULL DEFAULT 'k8s' CHECK (compute_type = 'k8s'),
    compute_id      text NOT NULL,
    compute_config  jsonb NOT NULL,
    version         integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, compute_id)
);
CREATE INDEX listeners_tenant_created ON listeners (tenant_id, created_at DESC, id DESC);

CREATE TABLE deployments (
    id                      uuid PRIMARY KEY,
    tenant_id               uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name                    text NOT NULL,
    source                  text NOT NULL,
    listener_id             uuid NOT NULL REFERENCES listeners (id),
    source_config           jsonb NOT NULL,
    source_revision_config  jsonb NOT NULL,
    secret_names            text[] NOT NULL DEFAULT '{}',
    secret_references       jsonb NOT NULL DEFAULT '[]',
    status                  text NOT NULL,
    status_message          text,
    latest_revision_id      uuid,
    active_revision_id      uuid,
    image_version           text,
    version                 integer NOT NULL DEFAULT 1,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name)
);
CREATE INDEX deployments_tenant_created ON deployments (tenant_id, created_at DESC, id DESC);
CREATE INDEX deployments_listener ON deployments (listener_id);

CREATE TABLE revisions (
    id                      uuid PRIMARY KEY,
    deployment_id           uuid NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    status                  text NOT NULL,
    status_message          text,
    source_revision_config  jsonb NOT NULL,
    resource_spec           jsonb NOT NULL,
    secret_names            text[] NOT NULL DEFAULT '{}',
    secrets_ciphertext      bytea,
    secret_references       jsonb NOT NULL DEFAULT '[]',
    redeployed_from         uuid,
    created_at              timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at              timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX revisions_deployment_created ON revisions (deployment_id, created_at DESC, id DESC);

CREATE TABLE revision_events (
    id           bigserial PRIMARY KEY,
    revision_id  uuid NOT NULL REFERENCES revisions (id) ON DELETE CASCADE,
    type         text NOT NULL,
    reason       text,
    message      text,
    object       text,
    timestamp    timestamptz NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX revision_events_revision ON revision_events (revision_id, id);

-- A replayed POST answers what the first one answered; rows belong to the key that sent them.
CREATE TABLE idempotency_keys (
    api_key_id        uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    idempotency_key   text NOT NULL,
    request_hash      bytea NOT NULL,
    status_code       integer NOT NULL,
    response          jsonb,
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (api_key_id, idempotency_key)
);

CREATE TABLE audit_log (
    id           bigserial PRIMARY KEY,
    tenant_id    uuid REFERENCES tenants (id) ON DELETE CASCADE,
    api_key_id   uuid,
    action       text NOT NULL,
    object_type  text NOT NULL,
    object_id    uuid,
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_tenant_at ON audit_log (tenant_id, at DESC, id DESC);
