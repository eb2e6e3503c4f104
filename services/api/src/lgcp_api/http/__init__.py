"""HTTP conventions shared by every router: paging, ETags, idempotency, field errors."""
