"""The runtime layer: retries with backoff and running on AWS Lambda."""
