-- Idempotency-Key rows: the request hash becomes an HMAC keyed with LGCP_SECRET_KEY (a plain
-- SHA-256 of a body carrying secret values let anyone with the table test guesses offline).
-- Rows written before this migration (and by API pods of the previous version during a rolling
-- upgrade, which do not name the column) keep 'sha256': the API still verifies a retry against
-- them until they expire with the 24 hour retention, and writes only 'hmac-sha256' rows.
ALTER TABLE idempotency_keys
    ADD COLUMN request_hash_scheme text NOT NULL DEFAULT 'sha256'
    CHECK (request_hash_scheme IN ('sha256', 'hmac-sha256'));
