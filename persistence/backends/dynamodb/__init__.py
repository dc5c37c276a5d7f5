"""The DynamoDB backend: expression compiler, client calls and error mapping."""
