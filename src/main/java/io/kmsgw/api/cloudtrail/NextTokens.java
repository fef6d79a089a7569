package io.kmsgw.api.cloudtrail;

import io.kmsgw.audit.AuditLookup;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * LookupEvents' NextToken: where the previous page ended in the trail, bound to the request's filter and
 * authenticated, so a client can neither point it elsewhere nor reuse it with other parameters (CloudTrail's
 * InvalidNextTokenException: "a token that was previously used in a request with different parameters").
 *
 * <p>Format: {@code base64url(payload) "." base64url(mac)}, payload the UTF-8 of {@code "1:" offset ":" file}, and
 * mac the first 16 bytes of HMAC-SHA256 under a key drawn at random when the gateway starts, over the payload, a
 * zero byte and the filter's canonical form. Tokens therefore end with the process: after a restart a paging client
 * starts over. The trail is not secret to a caller allowed to read it, so the token only needs integrity.
 */
final class NextTokens {
  private static final int MAC_BYTES = 16;
  private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();
  private static final Base64.Decoder DECODER = Base64.getUrlDecoder();

  private final SecretKeySpec key;

  NextTokens(byte[] key) {
    this.key = new SecretKeySpec(key.clone(), "HmacSHA256");
  }

  static NextTokens random() {
    byte[] k = new byte[32];
    new SecureRandom().nextBytes(k);
    return new NextTokens(k);
  }

  String encode(AuditLookup.Position p, AuditLookup.Filter filter) {
    byte[] payload = ("1:" + p.offset() + ":" + p.file()).getBytes(StandardCharsets.UTF_8);
    return ENCODER.encodeToString(payload) + "." + ENCODER.encodeToString(mac(payload, filter));
  }

  /** @throws KmsException InvalidNextTokenException for a token this gateway did not issue for this filter */
  AuditLookup.Position decode(String token, AuditLookup.Filter filter) {
    int dot = token.indexOf('.');
    if (dot < 0 || token.length() > 1024) {
      throw invalid();
    }
    byte[] payload;
    byte[] mac;
    try {
      payload = DECODER.decode(token.substring(0, dot));
      mac = DECODER.decode(token.substring(dot + 1));
    } catch (IllegalArgumentException e) {
      throw invalid();
    }
    if (!MessageDigest.isEqual(mac, mac(payload, filter))) {
      throw invalid();
    }
    String[] parts = new String(payload, StandardCharsets.UTF_8).split(":", 3);
    if (parts.length != 3 || !parts[0].equals("1")) {
      throw invalid();
    }
    try {
      return new AuditLookup.Position(parts[2], Long.parseLong(parts[1]));
    } catch (NumberFormatException e) {
      throw invalid();
    }
  }

  static KmsException invalid() {
    return new KmsException(ErrorCode.INVALID_NEXT_TOKEN, "The NextToken is not valid: it was not issued by this "
        + "gateway since it started, or it was issued for a request with other parameters.");
  }

  private byte[] mac(byte[] payload, AuditLookup.Filter filter) {
    try {
      Mac m = Mac.getInstance("HmacSHA256");
      m.init(key);
      m.update(payload);
      m.update((byte) 0);
      m.update(canonical(filter).getBytes(StandardCharsets.UTF_8));
      return Arrays.copyOf(m.doFinal(), MAC_BYTES);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
    }
  }

  /** The filter as text, each part length-prefixed so that no two filters read the same. */
  private static String canonical(AuditLookup.Filter f) {
    StringBuilder b = new StringBuilder();
    for (Object part : new Object[] {f.attribute(), f.value(), f.start(), f.end()}) {
      String s = part == null ? "" : part.toString();
      b.append(part == null ? -1 : s.length()).append(':').append(s);
    }
    return b.toString();
  }
}
