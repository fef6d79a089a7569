package io.kmsgw.api.http;

import io.kmsgw.log.Logging;
import java.time.Instant;

/** The one structured log line per request: id, operation, key, caller, outcome, latency. Never a secret. */
final class RequestRecord {
  final String requestId;
  final long startNanos = System.nanoTime();
  final String source;
  volatile String operation = "-";
  volatile String caller = "-";
  volatile String keyArn;
  volatile String error;
  /** More of the line from another API's routes (the XKS kmsRequestId), already escaped. */
  volatile String detail;

  RequestRecord(String requestId, String source) {
    this.requestId = requestId;
    this.source = source;
  }

  void log(int status) {
    long micros = (System.nanoTime() - startNanos) / 1000;
    Logging.line(Instant.now() + " REQUEST id=" + requestId + " op=" + operation + " status=" + status
        + " outcome=" + (error == null ? "ok" : error) + " key=" + (keyArn == null ? "-" : keyArn)
        + " caller=" + caller + " src=" + source + " latency_us=" + micros + (detail == null ? "" : " " + detail));
  }
}
