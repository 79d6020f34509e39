"""The client generated from the Open Inference Protocol's own OpenAPI document, unchanged.

    python open_inference.py BASE_URL ROWS_JSON

Run by tests/test_clients.py in .venv-clients; prints what the client returned, as JSON.
"""

import json
import sys

from open_inference.openapi.client import OpenInferenceClient
from open_inference.openapi.types import InferenceRequest, RequestInput, RequestOutput


def main(base_url: str, rows: list[list[float]]) -> dict[str, object]:
    client = OpenInferenceClient(base_url=base_url, timeout=30)
    client.check_server_liveness()
    client.check_model_readiness("wdbc")
    metadata = client.read_model_metadata("wdbc")
    flat = [value for row in rows for value in row]
    request = InferenceRequest(
        inputs=[RequestInput(name="input-0", shape=[len(rows), len(rows[0])], datatype="FP64", data=flat)],
        outputs=[RequestOutput(name="predict"), RequestOutput(name="predict_proba")],
    )
    response = client.model_infer("wdbc", request=request)
    outputs = {o.name: json.loads(o.data.json()) for o in response.outputs}
    return {"model": metadata.name, "outputs": outputs}


if __name__ == "__main__":
    sys.stdout.write(json.dumps(main(sys.argv[1], json.loads(sys.argv[2]))) + "\n")
