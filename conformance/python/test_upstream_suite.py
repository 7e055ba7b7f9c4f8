"""The reference conformance suite, collected unchanged against our worker."""

from vgi_rpc.conformance._pytest_suite import *  # noqa: F403
