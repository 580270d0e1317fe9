# Loaded by Python at start-up (via PYTHONPATH) in every moto server localaws.StartMoto starts.
#
# moto's server is threaded and its DynamoDB backend has no lock: TransactWriteItems deep-copies the
# tables, applies its items and, if a condition fails, restores the copy. Two concurrent requests
# can therefore both pass a condition, and a failed transaction can erase writes that other
# requests committed meanwhile. Real DynamoDB is linearizable per item and transactions are atomic,
# so concurrency tests would fail on moto for moto's sake. Serialising DynamoDB requests gives moto
# DynamoDB's guarantees (at the cost of parallelism a test server does not need).
import threading

try:
    from moto.dynamodb.responses import DynamoHandler
except Exception:  # an unexpected moto layout: run unpatched rather than not at all
    DynamoHandler = None

if DynamoHandler is not None:
    _lock = threading.Lock()
    _call_action = DynamoHandler.call_action

    def _serialised_call_action(self):
        with _lock:
            return _call_action(self)

    DynamoHandler.call_action = _serialised_call_action
