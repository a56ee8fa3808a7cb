"""The TLS context of every HTTP provider: the CA bundle the environment names, built once.

httpx itself reads only ``SSL_CERT_FILE``/``SSL_CERT_DIR``; the requests/curl variables
(``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``) are what corporate setups usually export, so they are
honoured too, and certifi's bundle is the default.
"""

from __future__ import annotations

import functools
import os
import ssl
from collections.abc import Mapping


def ssl_context_from_env(environ: Mapping[str, str]) -> ssl.SSLContext:
    """The TLS context for the CA bundle the environment asks for (certifi's by default).

    httpx itself reads only ``SSL_CERT_FILE``/``SSL_CERT_DIR``; the requests/curl variables are
    what corporate setups usually export, so they are honoured too. Loading a CA bundle costs
    ~40 ms and a context per request showed up as GC pauses in the benchmarks, so contexts are
    built once per (file, folder) and shared: an SSLContext is safe to share between clients.
    """
    for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        path = environ.get(name)
        if path and os.path.isfile(path):
            return _ssl_context(path, None)
    directory = environ.get("SSL_CERT_DIR")
    if directory and os.path.isdir(directory):
        return _ssl_context(None, directory)
    return _ssl_context(None, None)


@functools.cache
def _ssl_context(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    if cafile is None and capath is None:
        import certifi  # httpx's own default bundle

        cafile = certifi.where()
    return ssl.create_default_context(cafile=cafile, capath=capath)
