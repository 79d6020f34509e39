"""KServe's Python SDK against the API, unchanged: V2 infer, V1 predict, V1 explain.

    python kserve_sdk.py BASE_URL ROWS_JSON

Run by tests/test_clients.py in .venv-clients (the SDK's own dependencies); prints what the SDK
returned, as JSON, for the test to compare with direct calls.
"""

import asyncio
import json
import sys

import numpy as np
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig
from kserve.protocol.infer_type import RequestedOutput


async def main(base_url: str, rows: list[list[float]]) -> dict[str, object]:
    v2 = InferenceRESTClient(RESTConfig(protocol="v2", timeout=30))
    tensor = InferInput(name="input-0", shape=[len(rows), len(rows[0])], datatype="FP64")
    tensor.set_data_from_numpy(np.array(rows, dtype=np.float64), binary_data=False)
    wanted = [RequestedOutput(name) for name in ("predict", "predict_proba", "shap_values", "shap_base_value")]
    request = InferRequest(model_name="wdbc", infer_inputs=[tensor], request_outputs=wanted)
    ready = await v2.is_model_ready(base_url, "wdbc")
    response = await v2.infer(base_url, request, model_name="wdbc")
    outputs = {o.name: o.as_numpy().tolist() for o in response.outputs}
    await v2.close()
    v1 = InferenceRESTClient(RESTConfig(protocol="v1", timeout=30))
    v1_ready = await v1.is_model_ready(base_url, "wdbc")
    predicted = await v1.infer(base_url, {"instances": rows}, model_name="wdbc")
    explained = await v1.explain(base_url, "wdbc", {"instances": rows})
    await v1.close()
    return {
        "v2_ready": ready,
        "v2_outputs": outputs,
        "v2_model": response.model_name,
        "v1_ready": v1_ready,
        "v1_predict": predicted,
        "v1_explain": explained,
    }


if __name__ == "__main__":
    sys.stdout.write(json.dumps(asyncio.run(main(sys.argv[1], json.loads(sys.argv[2])))) + "\n")
