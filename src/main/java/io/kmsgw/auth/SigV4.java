package io.kmsgw.auth;

import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The parts of AWS Signature Version 4 that signing and verifying share: the canonical request, the string to
 * sign and the signing key ("Create a signed AWS API request", IAM user guide). Checked against the AWS SDK's own
 * signer in tests.
 */
final class SigV4 {
  static final String ALGORITHM = "AWS4-HMAC-SHA256";
  static final HexFormat HEX = HexFormat.of();
  private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  });
  private static final ThreadLocal<Mac> HMAC = ThreadLocal.withInitial(() -> {
    try {
      return Mac.getInstance("HmacSHA256");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  });

  private SigV4() {}

  /**
   * Appends a header value trimmed, every run of whitespace made one space (botocore: {@code ' '.join(v.split())}),
   * without a regex: this runs for every signed header of every request.
   */
  static void appendCanonicalValue(StringBuilder sb, String value) {
    int start = 0;
    int end = value.length();
    while (start < end && Character.isWhitespace(value.charAt(start))) {
      start++;
    }
    while (end > start && Character.isWhitespace(value.charAt(end - 1))) {
      end--;
    }
    boolean inSpace = false;
    for (int i = start; i < end; i++) {
      char c = value.charAt(i);
      if (Character.isWhitespace(c)) {
        inSpace = true;
      } else {
        if (inSpace) {
          sb.append(' ');
          inSpace = false;
        }
        sb.append(c);
      }
    }
  }

  /** {@code AWS4-HMAC-SHA256 \n <amz date> \n <scope> \n hex(sha256(canonical request))}. */
  static String stringToSign(String amzDate, String scope, String canonicalRequest) {
    return ALGORITHM + "\n" + amzDate + "\n" + scope + "\n"
        + HEX.formatHex(sha256(canonicalRequest.getBytes(StandardCharsets.UTF_8)));
  }

  /** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"). */
  static byte[] signingKey(byte[] seed, String scope) {
    String[] parts = scope.split("/");
    byte[] k = hmac(seed, parts[0]);
    k = hmac(k, parts[1]);
    k = hmac(k, parts[2]);
    return hmac(k, parts[3]);
  }

  static String canonicalRequest(SignedRequest request, List<String> signedHeaders, String payloadHash) {
    StringBuilder sb = new StringBuilder(256);
    sb.append(request.method()).append('\n');
    sb.append(canonicalUri(request.rawPath())).append('\n');
    sb.append(canonicalQuery(request.rawQuery())).append('\n');
    for (String name : signedHeaders) {
      List<String> values = request.headers(name);
      if (values.isEmpty()) {
        throw new KmsException(ErrorCode.INVALID_SIGNATURE, "A signed header is missing from the request: " + name);
      }
      sb.append(name).append(':');
      for (int i = 0; i < values.size(); i++) {
        if (i > 0) {
          sb.append(',');
        }
        appendCanonicalValue(sb, values.get(i));
      }
      sb.append('\n');
    }
    sb.append('\n');
    sb.append(String.join(";", signedHeaders)).append('\n');
    sb.append(payloadHash);
    return sb.toString();
  }

  /**
   * Services other than S3 encode each path segment twice: the path as sent is already encoded once, so it
   * is encoded once more here, keeping the slashes.
   */
  static String canonicalUri(String rawPath) {
    if (rawPath == null || rawPath.isEmpty()) {
      return "/";
    }
    return uriEncode(normalizedPath(rawPath), false);
  }

  /**
   * The path with its relative components removed, as SigV4 wants for every service but S3 ("Normalize URI paths
   * according to RFC 3986") and as the AWS SDKs sign it: {@code /.} is {@code /}, {@code /a/./b/../c} is
   * {@code /a/c} (java.net.URI's normalisation, which the SDK for Java uses; a trailing slash that only the
   * normalisation produced is dropped again). A path that is not a valid URI path stays as it is. Found by
   * SigV4FuzzTest: the SDK signed {@code /.} as {@code /}, the gateway checked {@code /.}.
   */
  static String normalizedPath(String rawPath) {
    if (rawPath.indexOf('.') < 0) {
      return rawPath; // nothing to remove: the common case costs one scan
    }
    java.net.URI uri;
    try {
      uri = new java.net.URI(rawPath);
    } catch (java.net.URISyntaxException e) {
      return rawPath;
    }
    if (uri.getRawPath() == null || uri.getRawPath().isEmpty() || uri.isAbsolute() || uri.getRawAuthority() != null
        || uri.getRawQuery() != null || uri.getRawFragment() != null) {
      return rawPath;
    }
    String normalized = uri.normalize().getRawPath();
    if (normalized.length() > 1 && normalized.endsWith("/") && !rawPath.endsWith("/")) {
      normalized = normalized.substring(0, normalized.length() - 1);
    }
    return normalized.isEmpty() ? "/" : normalized;
  }

  static String canonicalQuery(String rawQuery) {
    if (rawQuery == null || rawQuery.isEmpty()) {
      return "";
    }
    List<String[]> params = new ArrayList<>();
    for (String pair : rawQuery.split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      String name = eq < 0 ? pair : pair.substring(0, eq);
      String value = eq < 0 ? "" : pair.substring(eq + 1);
      params.add(new String[] {uriEncode(percentDecode(name), true), uriEncode(percentDecode(value), true)});
    }
    params.sort((a, b) -> a[0].equals(b[0]) ? a[1].compareTo(b[1]) : a[0].compareTo(b[0]));
    StringBuilder sb = new StringBuilder();
    for (String[] p : params) {
      if (sb.length() > 0) {
        sb.append('&');
      }
      sb.append(p[0]).append('=').append(p[1]);
    }
    return sb.toString();
  }

  /** RFC 3986 encoding as SigV4 defines it: unreserved characters stay, everything else is %XX (uppercase). */
  static String uriEncode(String s, boolean encodeSlash) {
    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
    StringBuilder sb = new StringBuilder(bytes.length + 8);
    for (byte b : bytes) {
      int c = b & 0xFF;
      if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'
          || c == '.' || c == '~' || (c == '/' && !encodeSlash)) {
        sb.append((char) c);
      } else {
        sb.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
            .append(Character.toUpperCase(Character.forDigit(c & 0xF, 16)));
      }
    }
    return sb.toString();
  }

  /** Decodes %XX escapes; a '%' not followed by two hex digits stays as it is. */
  static String percentDecode(String s) {
    if (s.indexOf('%') < 0) {
      return s;
    }
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(s.length());
    int i = 0;
    while (i < s.length()) {
      char c = s.charAt(i);
      if (c == '%' && i + 2 < s.length()
          && Character.digit(s.charAt(i + 1), 16) >= 0 && Character.digit(s.charAt(i + 2), 16) >= 0) {
        out.write((Character.digit(s.charAt(i + 1), 16) << 4) | Character.digit(s.charAt(i + 2), 16));
        i += 3;
      } else {
        int cp = s.codePointAt(i);
        out.writeBytes(new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8));
        i += Character.charCount(cp);
      }
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  static byte[] hmac(byte[] key, String data) {
    Mac mac = HMAC.get();
    try {
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
    return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
  }

  static byte[] sha256(byte[] data) {
    MessageDigest md = SHA256.get();
    md.reset();
    return md.digest(data);
  }

}
