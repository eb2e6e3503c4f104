"""Pure status: a revision's rollout outcome read from its live objects as `kubectl rollout
status` reads it, and why a pod cannot run (image pull, crash loop, configuration), for people."""
