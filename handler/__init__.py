"""The Lambda function: a thin FastAPI app behind Mangum, with Powertools logging and metrics."""

import gc
import os
import time

# When the function's code began to load: in the runtime this package is imported first, for the
# entry point, so init's phases start here.
IMPORT_STARTED = time.perf_counter()
# In the Lambda runtime (which alone sets AWS_LAMBDA_RUNTIME_API) the cyclic collector is paused for
# init, and handler.lambda_function freezes what init built before resuming it: collections during the
# imports cost a cold start about 20 ms here, init leaves almost no cyclic garbage, and later
# collections then skip the long-lived objects of init.
INIT_PAUSES_GC = "AWS_LAMBDA_RUNTIME_API" in os.environ and gc.isenabled()
if INIT_PAUSES_GC:
    gc.disable()
