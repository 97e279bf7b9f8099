"""moto's DynamoDB-compatible server on 127.0.0.1, with every request serialized.

Usage: python serve.py PORT

Stock `moto_server` handles requests on threads without item locking, so two
concurrent conditional UpdateItems on one key can both succeed. Here the whole
WSGI call, including producing the response body, runs under one global lock.
"""

import os
import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

LOCK = threading.Lock()


def serialized(app):
    def wrapper(environ, start_response):
        with LOCK:
            body = app(environ, start_response)
            try:
                return [b"".join(body)]
            finally:
                if hasattr(body, "close"):
                    body.close()

    return wrapper


def main():
    port = int(sys.argv[1])
    os.environ.setdefault("MOTO_PORT", str(port))  # as moto_server does
    moto_app = DomainDispatcherApplication(create_backend_app)
    moto_app.debug = True  # as moto_server does
    run_simple(
        "127.0.0.1",
        port,
        serialized(moto_app),
        threaded=True,  # read requests concurrently; the app itself runs under LOCK
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
