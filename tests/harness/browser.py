"""Debian's Chromium as the browser suites launch it (never a browser Playwright downloads)."""

CHROMIUM = "/usr/bin/chromium"
# Headless as root, and nothing that reaches for the network on its own: this machine's closed
# network refuses those connections, many at a time.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
