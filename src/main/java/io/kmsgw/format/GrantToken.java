package io.kmsgw.format;

import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;

/**
 * The grant token CreateGrant returns: opaque to clients, naming one grant.
 *
 * <p>Layout, 57 bytes, written as unpadded base64url (76 characters):
 * <pre>
 *   offset  length  field
 *   0       1       version, 0x01
 *   1       32      the grant id (its 64 hex characters as bytes)
 *   33      16      random bytes from SecureRandom: every CreateGrant answer gets a new token, as AWS does
 *   49      8       the first 8 bytes of SHA-256 over bytes 0..48, so a mangled token is refused
 * </pre>
 *
 * <p>The check bytes are a checksum, not a MAC: anyone who knows a grant id could build a token for it. That gives
 * nothing away, because grants in kmsgw take effect at once (there is no eventual consistency to bridge) and a token
 * is never what authorizes a request: the grant itself is. A token only identifies a grant (RetireGrant) and must be
 * well formed wherever a request carries one.
 */
public final class GrantToken {
  public static final int VERSION = 1;
  static final int LENGTH = 1 + 32 + 16 + 8;
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final HexFormat HEX = HexFormat.of();

  private GrantToken() {}

  /** A new token for a grant id (64 hex characters). */
  public static String issue(String grantId) {
    byte[] id = HEX.parseHex(grantId);
    if (id.length != 32) {
      throw new IllegalArgumentException("a grant id is 32 bytes");
    }
    byte[] t = new byte[LENGTH];
    t[0] = VERSION;
    System.arraycopy(id, 0, t, 1, 32);
    byte[] nonce = new byte[16];
    RANDOM.nextBytes(nonce);
    System.arraycopy(nonce, 0, t, 33, 16);
    System.arraycopy(check(t), 0, t, 49, 8);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(t);
  }

  /**
   * The grant id a token names.
   *
   * @throws KmsException InvalidGrantTokenException if the token is not one kmsgw issued intact
   */
  public static String grantId(String token) {
    byte[] t;
    try {
      t = Base64.getUrlDecoder().decode(token);
    } catch (IllegalArgumentException e) {
      throw invalid();
    }
    if (t.length != LENGTH || t[0] != VERSION
        || !MessageDigest.isEqual(Arrays.copyOfRange(t, 49, 57), check(t))) {
      throw invalid();
    }
    return HEX.formatHex(t, 1, 33);
  }

  /** Checks every token of a request's GrantTokens. */
  public static void checkAll(List<String> tokens) {
    for (String token : tokens) {
      grantId(token);
    }
  }

  private static byte[] check(byte[] t) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      sha.update(t, 0, 49);
      return Arrays.copyOf(sha.digest(), 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static KmsException invalid() {
    return new KmsException(ErrorCode.INVALID_GRANT_TOKEN, "The grant token is not valid: use a GrantToken that "
        + "CreateGrant returned, unchanged.");
  }
}
