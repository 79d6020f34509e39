"""The client openapi-python-client generates from the API's /openapi.json, used as a developer would.

    python generated_python.py GENERATED_PROJECT_DIR BASE_URL RECORDS_JSON

Run by tests/test_clients.py in .venv-clients after generating; prints the answers, as JSON.
"""

import json
import sys

sys.path.insert(0, sys.argv[1])

from wdbc_breast_tumour_classifier_client import Client
from wdbc_breast_tumour_classifier_client.api.default import (
    predict_batch_predict_batch_post,
    predict_predict_post,
)
from wdbc_breast_tumour_classifier_client.api.open_inference_protocol_v2 import (
    infer_v2_models_name_infer_post,
)
from wdbc_breast_tumour_classifier_client.models import (
    BatchRequest,
    Features,
    InferenceRequest,
    PredictRequest,
)


def main(base_url: str, records: list[dict[str, float]]) -> dict[str, object]:
    client = Client(base_url=base_url, raise_on_unexpected_status=True)
    one = predict_predict_post.sync(
        client=client, body=PredictRequest(features=Features.from_dict(records[1]), explain=True, alpha=0.01)
    )
    batch = predict_batch_predict_batch_post.sync(
        client=client, body=BatchRequest(instances=[Features.from_dict(r) for r in records])
    )
    rows = [list(r.values()) for r in records]
    tensor = {"name": "input-0", "shape": [len(rows), len(rows[0])], "datatype": "FP64", "data": rows}
    infer = infer_v2_models_name_infer_post.sync(
        "wdbc", client=client, body=InferenceRequest.from_dict({"inputs": [tensor]})
    )
    return {name: answer.to_dict() for name, answer in (("predict", one), ("batch", batch), ("infer", infer))}


if __name__ == "__main__":
    sys.stdout.write(json.dumps(main(sys.argv[2], json.loads(sys.argv[3]))) + "\n")
