package io.kmsgw.client;

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
 * A minimal signed KMS client: the benchmark's set-up (creating keys, making ciphertexts, listing keys) and the
 * pre-signed requests that wrk replays, and the operator commands ({@code kmsgw keystore}), which go through the
 * API like any client.
 */
public final class KmsHttp {
  public static final String CONTENT_TYPE = "application/x-amz-json-1.1";
  private static final String HEALTH_DETAIL = "/healthz/detail";

  private final URI endpoint;
  private final SigV4Signer signer;
  private final HttpClient http = HttpClient.newHttpClient();

  public KmsHttp(URI endpoint, String accessKeyId, String secret, String region) {
    this.endpoint = endpoint;
    this.signer = new SigV4Signer(accessKeyId, secret, region, "kms");
  }

  public URI endpointUri() {
    return endpoint;
  }

  public String hostHeader() {
    return endpoint.getHost() + ":" + endpoint.getPort();
  }

  /** The signed headers of a KMS call, signed now. */
  public Map<String, String> signedHeaders(String operation, byte[] body) {
    Map<String, String> h = new LinkedHashMap<>();
    h.put("Host", hostHeader());
    h.put("Content-Type", CONTENT_TYPE);
    h.put("X-Amz-Target", "TrentService." + operation);
    return signer.sign("POST", "/", null, h, body, Instant.now());
  }

  /** A complete HTTP/1.1 request, as wrk sends it. */
  public byte[] rawRequest(String operation, JsonObject body) {
    byte[] bytes = body.toBuffer().getBytes();
    StringBuilder sb = new StringBuilder(512 + bytes.length);
    sb.append("POST / HTTP/1.1\r\n");
    signedHeaders(operation, bytes).forEach((k, v) -> sb.append(k).append(": ").append(v).append("\r\n"));
    sb.append("Content-Length: ").append(bytes.length).append("\r\n\r\n");
    sb.append(new String(bytes, StandardCharsets.UTF_8));
    return sb.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** An answer: the HTTP status and the JSON body (an AWS error document when the status is not 200). */
  public record Answer(int status, JsonObject body) {
    public String errorType() {
      String t = body.getString("__type", "");
      return t.substring(t.indexOf('#') + 1);
    }

    public String errorMessage() {
      return body.getString("message", body.getString("Message", ""));
    }
  }

  /** Sends a call and returns whatever it answered. */
  public Answer send(String operation, JsonObject body) throws IOException, InterruptedException {
    HttpResponse<String> r = post(operation, body);
    String text = r.body() == null || r.body().isBlank() ? "{}" : r.body();
    try {
      return new Answer(r.statusCode(), new JsonObject(text));
    } catch (io.vertx.core.json.DecodeException e) {
      throw new IOException(operation + " answered " + r.statusCode() + " without a JSON body: "
          + text.substring(0, Math.min(200, text.length())));
    }
  }

  private HttpResponse<String> post(String operation, JsonObject body) throws IOException, InterruptedException {
    byte[] bytes = body.toBuffer().getBytes();
    HttpRequest.Builder b = HttpRequest.newBuilder(endpoint.resolve("/")).POST(HttpRequest.BodyPublishers.ofByteArray(bytes));
    signedHeaders(operation, bytes).forEach((k, v) -> {
      if (!k.equalsIgnoreCase("host")) {
        b.header(k, v);
      }
    });
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** Sends a call; anything but 200 is an IOException with the answer. */
  public JsonObject call(String operation, JsonObject body) throws IOException, InterruptedException {
    HttpResponse<String> r = post(operation, body);
    if (r.statusCode() != 200) {
      throw new IOException(operation + " answered " + r.statusCode() + ": " + r.body());
    }
    return new JsonObject(r.body());
  }

  /**
   * The gateway's health details ({@code GET /healthz/detail}, signed with this client's credentials, which must
   * allow {@code kms:DescribeCustomKeyStores}): the key stores' states, pools and PKCS#11 call counters, the audit
   * trail's slow writes. Answered 503 with the same document while the gateway is unhealthy (not yet connected).
   */
  public JsonObject health() throws IOException, InterruptedException {
    Map<String, String> h = new LinkedHashMap<>();
    h.put("Host", hostHeader());
    HttpRequest.Builder b = HttpRequest.newBuilder(endpoint.resolve(HEALTH_DETAIL)).GET();
    signer.sign("GET", HEALTH_DETAIL, null, h, new byte[0], Instant.now()).forEach((k, v) -> {
      if (!k.equalsIgnoreCase("host")) {
        b.header(k, v);
      }
    });
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    JsonObject doc = new JsonObject(r.body());
    if (r.statusCode() != 200 && r.statusCode() != 503) {
      throw new IOException("GET " + HEALTH_DETAIL + " answered " + r.statusCode() + ": " + r.body());
    }
    return doc;
  }
}
