"""The simulator driven only through real clients and peer tools, as users drive EKS: kubectl,
the kubernetes Python client, botocore's IMDS fetchers, the awscli, and a chaos tool built on the
kubernetes client (chaostoolkit-kubernetes).  Each test is something one of them did wrong or
could not do against the simulator before (issue 14 lists them)."""
