"""moto_server, but one request at a time.

moto_server runs a threaded werkzeug server without any lock around its backends, so
concurrent requests interleave inside moto. For DynamoDB that breaks the isolation that the
real service guarantees: a TransactWriteItems that fails restores a deep copy of the whole
table taken before it ran, erasing writes that other requests committed meanwhile (observed:
two 201s for one userName, a counter back at 0). Real DynamoDB executes each request, and each
transaction, atomically; serialising moto's request handling restores that, so tests that
send requests in parallel (uniqueness races, lost updates) test our code, not moto's races.

Same options as moto_server for what with_moto.sh uses: -H HOST -p PORT.
"""

import argparse
import os
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))

    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialised(environ, start_response):
        # The body is materialised inside the lock: nothing of a request runs outside it.
        with lock:
            return list(app(environ, start_response))

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # Still threaded, so that an idle keep-alive connection cannot block the others.
    run_simple(
        args.host,
        args.port,
        serialised,
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
