"""Process-wide infrastructure with no domain knowledge: settings, the Postgres pool, schema
migrations, the secret box and the Redis notifier."""
