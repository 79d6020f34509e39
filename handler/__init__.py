"""The Lambda function: a thin FastAPI app behind Mangum, with Powertools logging and metrics."""

import time

# When the function's code began to load (this package is imported first): where init's phases start.
IMPORT_STARTED = time.perf_counter()
