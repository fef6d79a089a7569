package io.kmsgw.bench;

import io.kmsgw.auth.SigV4Signer;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A minimal signed KMS client for the benchmark's set-up (creating keys, making ciphertexts, listing keys) and for
 * building the pre-signed requests that wrk replays.
 */
final class KmsHttp {
  static final String CONTENT_TYPE = "application/x-amz-json-1.1";

  private final URI endpoint;
  private final SigV4Signer signer;
  private final HttpClient http = HttpClient.newHttpClient();

  KmsHttp(URI endpoint, String accessKeyId, String secret, String region) {
    this.endpoint = endpoint;
    this.signer = new SigV4Signer(accessKeyId, secret, region, "kms");
  }

  URI endpointUri() {
    return endpoint;
  }

  String hostHeader() {
    return endpoint.getHost() + ":" + endpoint.getPort();
  }

  /** The signed headers of a KMS call, signed now. */
  Map<String, String> signedHeaders(String operation, byte[] body) {
    Map<String, String> h = new LinkedHashMap<>();
    h.put("Host", hostHeader());
    h.put("Content-Type", CONTENT_TYPE);
    h.put("X-Amz-Target", "TrentService." + operation);
    return signer.sign("POST", "/", null, h, body, Instant.now());
  }

  /** A complete HTTP/1.1 request, as wrk sends it. */
  byte[] rawRequest(String operation, JsonObject body) {
    byte[] bytes = body.toBuffer().getBytes();
    StringBuilder sb = new StringBuilder(512 + bytes.length);
    sb.append("POST / HTTP/1.1\r\n");
    signedHeaders(operation, bytes).forEach((k, v) -> sb.append(k).append(": ").append(v).append("\r\n"));
    sb.append("Content-Length: ").append(bytes.length).append("\r\n\r\n");
    sb.append(new String(bytes, StandardCharsets.UTF_8));
    return sb.toString().getBytes(StandardCharsets.UTF_8);
  }

  JsonObject call(String operation, JsonObject body) throws IOException, InterruptedException {
    byte[] bytes = body.toBuffer().getBytes();
    HttpRequest.Builder b = HttpRequest.newBuilder(endpoint.resolve("/")).POST(HttpRequest.BodyPublishers.ofByteArray(bytes));
    signedHeaders(operation, bytes).forEach((k, v) -> {
      if (!k.equalsIgnoreCase("host")) {
        b.header(k, v);
      }
    });
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new IOException(operation + " answered " + r.statusCode() + ": " + r.body());
    }
    return new JsonObject(r.body());
  }

  JsonObject health() throws IOException, InterruptedException {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(endpoint.resolve("/healthz")).build(),
        HttpResponse.BodyHandlers.ofString());
    return new JsonObject(r.body());
  }
}
