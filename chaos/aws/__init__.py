"""The harness's AWS adapter: every boto3 and botocore call of `chaos` is made in this package
(an import-linter contract keeps the rest off the SDK), each with the retries it needs."""
