"""Developer tooling (local stack, DynamoDB Local control). Not deployed."""
