"""`python -m lgcp_api` is the `lgcp-api` command."""

from .cli import main

main()
