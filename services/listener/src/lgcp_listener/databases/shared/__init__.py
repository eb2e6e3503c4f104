"""`shared` database mode: each agent gets a database and login role of its own on the
data-plane Postgres, a Redis database number on the data-plane Redis, and a Redis ACL user
limited to that number. `mode.SharedMode` is the strategy; `server.SharedDatabases` provisions;
`spares` keeps empty databases ready; `redis_numbers` and `redis_users` are the Redis rules."""
