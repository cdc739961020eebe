"""moto_server, but one request at a time.

moto_server runs a threaded werkzeug server without any lock around its backends, so
concurrent requests interleave inside moto. For DynamoDB that breaks the isolation that the
real service guarantees: a TransactWriteItems that fails restores a deep copy of the whole
table taken before it ran, erasing writes that other requests committed meanwhile (observed:
two 201s for one userName, a counter back at 0). Real DynamoDB executes each request, and each
transaction, atomically; serialising moto's request handling restores that, so tests that
send requests in parallel (uniqueness races, lost updates) test our code, not moto's races.

Transactions also roll back differently (same outcome, other cost): moto backs up every table
a TransactWriteItems names with a deep copy of the *whole table* before it runs, so one
transaction costs O(table size) (measured: 0.2 s at 1,000 items, 9 s at 40,000) and a test that
builds a 50,000-member group would take hours. Under the lock nothing else can change the table
while a transaction runs, so a journal of just the items it names (at most 100) restores the
same state: see `journaled_transactions`. Likewise a Query on the table's own key walks every
item of the table to find one partition's (O(table), measured 0.4 s per Query at 9,000 items);
`partition_queries` hands it that partition's items alone, which gives the same result.

Same options as moto_server for what with_moto.sh uses: -H HOST -p PORT.
"""

import copy

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


def journaled_transactions() -> None:
    """Make moto's TransactWriteItems roll back from a journal of the items it names.

    moto's implementation (moto/dynamodb/models/__init__.py, `transact_write_items`) deep-copies
    each table before it runs and, on any failure, puts the copies back. Here the table "copy"
    is the live table itself (so moto's own restore is a no-op) and, on failure, each item the
    transaction names is put back as it was, from a deep copy of just that item. Only valid with
    the lock in `main`: nothing else may write while a transaction runs.
    """
    import moto.dynamodb.models as ddb
    from moto.dynamodb.models.dynamo_type import DynamoType

    original = ddb.DynamoDBBackend.transact_write_items

    class _LiveTables:
        """`copy` as moto's module sees it during a transaction: tables are not copied."""

        def __getattr__(self, name):
            return getattr(copy, name)

        @staticmethod
        def deepcopy(obj, memo=None):
            if isinstance(obj, ddb.Table):
                return obj
            return copy.deepcopy(obj, memo)

    def snapshot(backend, transact_items):
        saved = []
        for entry in transact_items:
            for op_type, op in entry.items():
                table = backend.tables.get(op.get("TableName"))
                if table is None:
                    continue
                source = op.get("Item") if op_type == "Put" else op.get("Key")
                if not source or table.hash_key_attr not in source:
                    continue
                h = DynamoType(source[table.hash_key_attr])
                r = None
                if table.range_key_attr is not None:
                    if table.range_key_attr not in source:
                        continue
                    r = DynamoType(source[table.range_key_attr])
                current = table.items.get(h, {}).get(r) if r is not None else table.items.get(h)
                saved.append((table, h, r, copy.deepcopy(current)))
        return saved

    def restore(saved):
        for table, h, r, item in reversed(saved):
            if r is None:
                if item is None:
                    table.items.pop(h, None)
                else:
                    table.items[h] = item
            elif item is None:
                table.items.get(h, {}).pop(r, None)
            else:
                table.items[h][r] = item

    def transact_write_items(self, transact_items):
        saved = snapshot(self, transact_items)
        real_copy = ddb.copy
        ddb.copy = _LiveTables()
        try:
            return original(self, transact_items)
        except BaseException:
            restore(saved)
            raise
        finally:
            ddb.copy = real_copy

    ddb.DynamoDBBackend.transact_write_items = transact_write_items


def partition_queries() -> None:
    """Make moto's Query of the table's own key read only that key's partition.

    moto's `Table.query` builds its candidates from `self.all_items()` (every item of the table)
    and keeps those whose hash key matches. For a Query on the table's key (no index), the items
    of `self.items[hash_key]` are exactly those candidates, so `all_items` is replaced for the
    duration of the call. Index Queries are left alone. Only valid under the lock in `main`.
    """
    import inspect

    from moto.dynamodb.models.table import Table

    original = Table.query
    signature = inspect.signature(original)

    def query(self, hash_key, *args, **kwargs):
        bound = signature.bind(self, hash_key, *args, **kwargs)
        if bound.arguments.get("index_name") or hash_key is None or not self.range_key_attr:
            return original(self, hash_key, *args, **kwargs)
        partition = list(self.items.get(hash_key, {}).values())
        self.all_items = lambda: partition
        try:
            return original(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    Table.query = query


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))

    journaled_transactions()
    partition_queries()
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
