package io.kmsgw.audit;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;

/**
 * Audit lines POSTed in batches (up to 500 lines, {@code application/x-ndjson}) to a SIEM's HTTP collector. A batch
 * that fails (no answer within 10 s, or a status other than 2xx) is dropped and counted: the files are the record,
 * this is a copy.
 */
public final class HttpSink extends QueuedSink {
  private final URI uri;
  private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  public HttpSink(URI uri) {
    super("http", 100_000, 500);
    this.uri = uri;
    start();
  }

  @Override
  void deliver(List<String> lines) throws Exception {
    StringBuilder sb = new StringBuilder();
    lines.forEach(l -> sb.append(l).append('\n'));
    HttpRequest request = HttpRequest.newBuilder(uri)
        .timeout(Duration.ofSeconds(10))
        .header("Content-Type", "application/x-ndjson")
        .POST(HttpRequest.BodyPublishers.ofString(sb.toString()))
        .build();
    HttpResponse<Void> response = client.send(request, HttpResponse.BodyHandlers.discarding());
    if (response.statusCode() / 100 != 2) {
      throw new java.io.IOException("HTTP " + response.statusCode() + " from " + uri.getHost());
    }
  }
}
