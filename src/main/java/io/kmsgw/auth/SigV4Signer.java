package io.kmsgw.auth;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Signs requests with AWS Signature Version 4, for kmsgw's own clients (the benchmark's load generator). Signs
 * every header given, as the AWS SDKs do. Tested against the AWS SDK for Java v2's signer.
 */
public final class SigV4Signer {
  private static final DateTimeFormatter AMZ_DATE =
      DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);

  private final String accessKeyId;
  private final byte[] seed;
  private final String region;
  private final String service;

  public SigV4Signer(String accessKeyId, String secretAccessKey, String region, String service) {
    this.accessKeyId = accessKeyId;
    this.seed = ("AWS4" + secretAccessKey).getBytes(StandardCharsets.UTF_8);
    this.region = region;
    this.service = service;
  }

  /**
   * The headers to send: the given ones plus {@code X-Amz-Date} and {@code Authorization}.
   *
   * @param headers header name to value; must include {@code host}
   */
  public Map<String, String> sign(String method, String rawPath, String rawQuery, Map<String, String> headers,
      byte[] body, Instant at) {
    String amzDate = AMZ_DATE.format(at);
    TreeMap<String, String> lower = new TreeMap<>();
    headers.forEach((k, v) -> lower.put(k.toLowerCase(Locale.ROOT), v));
    lower.put("x-amz-date", amzDate);
    if (!lower.containsKey("host")) {
      throw new IllegalArgumentException("the host header must be signed");
    }
    List<String> signed = new ArrayList<>(lower.keySet());
    SignedRequest request = new SignedRequest() {
      @Override
      public String method() {
        return method;
      }

      @Override
      public String rawPath() {
        return rawPath;
      }

      @Override
      public String rawQuery() {
        return rawQuery;
      }

      @Override
      public List<String> headers(String name) {
        String v = lower.get(name.toLowerCase(Locale.ROOT));
        return v == null ? List.of() : List.of(v);
      }

      @Override
      public byte[] body() {
        return body;
      }
    };
    String scope = amzDate.substring(0, 8) + "/" + region + "/" + service + "/aws4_request";
    String canonical = SigV4.canonicalRequest(request, signed, SigV4.HEX.formatHex(SigV4.sha256(body)));
    String signature = SigV4.HEX.formatHex(
        SigV4.hmac(SigV4.signingKey(seed, scope), SigV4.stringToSign(amzDate, scope, canonical)));
    Map<String, String> out = new LinkedHashMap<>(headers);
    out.put("X-Amz-Date", amzDate);
    out.put("Authorization", SigV4.ALGORITHM + " Credential=" + accessKeyId + "/" + scope + ", SignedHeaders="
        + String.join(";", signed) + ", Signature=" + signature);
    return out;
  }
}
