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

/** A minimal signed XKS proxy API client, for the benchmark's pre-signed requests (service kms-xks-proxy). */
public final class XksHttp {
  private final URI endpoint;
  private final SigV4Signer signer;
  private final HttpClient http = HttpClient.newHttpClient();

  public XksHttp(URI endpoint, String accessKeyId, String secret, String region) {
    this.endpoint = endpoint;
    this.signer = new SigV4Signer(accessKeyId, secret, region, "kms-xks-proxy");
  }

  private Map<String, String> signedHeaders(String path, byte[] body) {
    Map<String, String> h = new LinkedHashMap<>();
    h.put("Host", endpoint.getHost() + ":" + endpoint.getPort());
    h.put("Content-Type", "application/json");
    return signer.sign("POST", path, null, h, body, Instant.now());
  }

  /** A complete HTTP/1.1 request to {@code path}, as wrk sends it. */
  public byte[] rawRequest(String path, JsonObject body) {
    byte[] bytes = body.toBuffer().getBytes();
    StringBuilder sb = new StringBuilder(512 + bytes.length);
    sb.append("POST ").append(path).append(" HTTP/1.1\r\n");
    signedHeaders(path, bytes).forEach((k, v) -> sb.append(k).append(": ").append(v).append("\r\n"));
    sb.append("Content-Length: ").append(bytes.length).append("\r\n\r\n");
    sb.append(new String(bytes, StandardCharsets.UTF_8));
    return sb.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** Sends a call; its JSON answer, or an IOException naming the error. */
  public JsonObject call(String path, JsonObject body) throws IOException, InterruptedException {
    byte[] bytes = body.toBuffer().getBytes();
    HttpRequest.Builder b = HttpRequest.newBuilder(endpoint.resolve(path)).POST(HttpRequest.BodyPublishers.ofByteArray(
        bytes));
    signedHeaders(path, bytes).forEach((k, v) -> {
      if (!k.equalsIgnoreCase("Host")) {
        b.header(k, v);
      }
    });
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new IOException("XKS " + path + " answered " + r.statusCode() + ": " + r.body());
    }
    return new JsonObject(r.body());
  }

  /** requestMetadata as KMS sends it. */
  public static JsonObject requestMetadata(String kmsOperation) {
    return new JsonObject().put("awsPrincipalArn", "arn:aws:iam::123456789012:user/bench")
        .put("kmsKeyArn", "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab")
        .put("kmsOperation", kmsOperation).put("kmsRequestId", java.util.UUID.randomUUID().toString());
  }
}
