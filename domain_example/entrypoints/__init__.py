"""Entry points: the HTTP API (behind Lambda or a local server) and the command line."""
