"""The reference conformance suite, collected unchanged against our worker.

Same import as the reference's own tests/test_conformance.py: every test class
of vgi_rpc.conformance._pytest_suite (which itself re-exports the identity,
grant, secondary, external, adversarial, lifecycle, soak… groups). The
fixtures come from conftest.py beside this file.
"""

from vgi_rpc.conformance._pytest_suite import *  # noqa: F403
