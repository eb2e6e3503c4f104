"""The manifests preview: what the listener renders for a deployment, Secret values redacted."""
