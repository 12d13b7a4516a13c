"""An error past every retry is one line naming the API, its answer and (for AWS) the operation."""

from __future__ import annotations

from botocore.exceptions import ClientError, EndpointConnectionError
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import MaxRetryError

from chaos.api_errors import describe


def test_kubernetes_answer_names_the_status_and_message():
    exc = ApiException(status=503, reason="Service Unavailable")
    exc.body = '{"kind":"Status","message":"etcd is unhappy\\nsecond line"}'
    assert describe(exc) == "the Kubernetes API answered 503 Service Unavailable, retries exhausted: etcd is unhappy"


def test_kubernetes_unreachable_and_aws_answers_name_their_api():
    assert describe(MaxRetryError(None, "/api/v1/nodes", "refused")).startswith("the Kubernetes API could not be reached")
    err = ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}, "ResponseMetadata": {"HTTPStatusCode": 400}}, "StartExperiment")
    assert describe(err) == "AWS StartExperiment answered 400 ThrottlingException, retries exhausted: Rate exceeded"
    assert describe(EndpointConnectionError(endpoint_url="http://127.0.0.1:1")).startswith("the AWS endpoint could not be reached")


def test_anything_else_is_its_type_and_first_line_only():
    assert describe(ValueError("x" * 1000 + "\nmore")) == "ValueError: " + "x" * 285 + "..."
