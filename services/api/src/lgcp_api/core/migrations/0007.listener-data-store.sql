-- Where each listener keeps its agents' databases (issue 15), as the listener reports it when it
-- registers: an opaque identity, equal for two listeners that use the same database servers, so
-- a deployment can move between them with its data. NULL: never reported. Not part of the
-- row's `version`, like last_seen_at.
ALTER TABLE listeners ADD COLUMN data_store text;
