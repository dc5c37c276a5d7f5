"""The in-memory backend: the same contract and rules as DynamoDB, no network."""
