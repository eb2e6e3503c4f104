"""The name budget: how long a deployment name may be so that every name derived from it fits.

Kubernetes caps object names (DNS labels) and label values at 63 characters. The listener names
what it makes `<deployment name>-<suffix>`, the `-<suffix>` at most 23 characters, so a
deployment name of at most 40 keeps every derived name valid. `tests/contract` checks every
name the listener derives against this budget.
"""

from __future__ import annotations

KUBERNETES_NAME_MAX_LENGTH = 63
DEPLOYMENT_NAME_MAX_LENGTH = 40
DERIVED_SUFFIX_MAX_LENGTH = KUBERNETES_NAME_MAX_LENGTH - DEPLOYMENT_NAME_MAX_LENGTH
