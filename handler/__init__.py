"""The Lambda function: a thin FastAPI app behind Mangum, with Powertools logging and metrics."""
