package io.kmsgw.api.http;

import io.kmsgw.log.Logging;
import io.vertx.core.AsyncResult;
import io.vertx.core.http.HttpServerResponse;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The one structured log line per request: id, operation, key, caller, outcome, latency. Never a secret.
 *
 * <p>The line is written once, when the response has ended, with the status that was sent; a request whose
 * connection closed before any answer says {@code status=-}. Vert.x Web runs a routing context's end handlers on the
 * first of end, response exception and close, so a request whose body failed to arrive would otherwise be logged
 * (with the default status 200) before its error answer is written.
 */
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
  private final AtomicBoolean logged = new AtomicBoolean();
  /** Where the lines go: the log; tests in this package read them. */
  static volatile java.util.function.Consumer<String> out = Logging::line;

  RequestRecord(String requestId, String source) {
    this.requestId = requestId;
    this.source = source;
  }

  /**
   * Logs the request when its response has really ended: at once if it has, else when it does (or when the
   * connection closes without it). For a routing context's end handler.
   */
  void logWhenEnded(HttpServerResponse response, AsyncResult<Void> how) {
    if (how.succeeded() || response.ended()) {
      log(response.getStatusCode());
    } else if (response.closed()) {
      closed();
    } else {
      // a failure before the answer (the body could not be read): the failure handler still answers
      response.endHandler(v -> log(response.getStatusCode()));
      response.closeHandler(v -> {
        if (response.ended()) {
          log(response.getStatusCode());
        } else {
          closed();
        }
      });
    }
  }

  void log(int status) {
    write(Integer.toString(status), error == null ? "ok" : error);
  }

  /** The connection closed before a response was sent. */
  void closed() {
    write("-", error == null ? "closed" : error);
  }

  private void write(String status, String outcome) {
    if (!logged.compareAndSet(false, true)) {
      return;
    }
    long micros = (System.nanoTime() - startNanos) / 1000;
    out.accept(Instant.now() + " REQUEST id=" + requestId + " op=" + operation + " status=" + status
        + " outcome=" + outcome + " key=" + (keyArn == null ? "-" : keyArn)
        + " caller=" + caller + " src=" + source + " latency_us=" + micros + (detail == null ? "" : " " + detail));
  }
}
