-- When each listener last called the listener-facing API (NULL: never). Not part of the row's
-- `version`, so a listener's polling never changes its ETag or fails an admin's If-Match.
ALTER TABLE listeners ADD COLUMN last_seen_at timestamptz;
