package io.kmsgw.format;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import javax.crypto.BadPaddingException;

/**
 * EME-OAEP decoding (RFC 8017 §7.1.2 step 3) of the encoded message that a raw RSA private operation
 * ({@code CKM_RSA_X_509}) returns, for tokens whose {@code CKM_RSA_PKCS_OAEP} lacks the hash. The label is empty and
 * MGF1 uses the same hash as the label digest, as AWS KMS's RSAES_OAEP_SHA_1 and RSAES_OAEP_SHA_256 do.
 *
 * <p>The encoded message {@code EM} of {@code k} bytes (the modulus length) is
 * {@code Y (1 byte) || maskedSeed (hLen) || maskedDB (k - hLen - 1)}, where {@code seed = maskedSeed xor
 * MGF1(maskedDB, hLen)} and {@code DB = maskedDB xor MGF1(seed, k - hLen - 1) = lHash || PS (zeros) || 0x01 || M}.
 *
 * <p>Constant time, so that it cannot become a padding oracle (Manger's attack, RFC 8017 §7.1.2 note): every check
 * runs on every byte, whatever failed first; the checks on {@code Y}, {@code lHash}, the zero run and the 0x01
 * separator are combined with arithmetic, never with a branch or an index that depends on the decoded bytes; the one
 * branch is on the combined verdict, and every failure is the same {@link BadPaddingException} with the same message.
 * Only once the encoding is known good is the separator's position used to copy {@code M} out. Every intermediate
 * buffer (seed, masks, DB) is wiped, and so is the caller's {@code EM}.
 */
public final class OaepDecoding {
  /** The one message of every failure. */
  public static final String FAILURE = "invalid OAEP encoding";

  private OaepDecoding() {}

  /**
   * @param em the encoded message, exactly the modulus length; wiped before this returns
   * @param hash {@code SHA-1} or {@code SHA-256}
   * @param modulusLength {@code k}, the modulus length in bytes
   * @return the message {@code M}
   * @throws BadPaddingException for every malformed encoding, with one message
   */
  public static byte[] decode(byte[] em, String hash, int modulusLength) throws BadPaddingException {
    MessageDigest md = digest(hash);
    int hLen = md.getDigestLength();
    try {
      // public lengths: the modulus and the hash are known to everyone, so these branches leak nothing
      if (em.length != modulusLength || modulusLength < 2 * hLen + 2) {
        throw new BadPaddingException(FAILURE);
      }
      int dbLen = modulusLength - hLen - 1;
      byte[] seed = mgf1(md, em, 1 + hLen, dbLen, hLen);
      byte[] db = null;
      try {
        for (int i = 0; i < hLen; i++) {
          seed[i] ^= em[1 + i];
        }
        db = mgf1(md, seed, 0, hLen, dbLen);
        for (int i = 0; i < dbLen; i++) {
          db[i] ^= em[1 + hLen + i];
        }
        byte[] lHash = md.digest(new byte[0]);
        // bad != 0 when anything is wrong; every term is computed whatever the others are
        int bad = em[0] & 0xff;
        for (int i = 0; i < hLen; i++) {
          bad |= (db[i] ^ lHash[i]) & 0xff;
        }
        int looking = 1; // 1 while only zeros have followed lHash
        int separator = 0; // the index of the 0x01 that ends PS, once found
        for (int i = hLen; i < dbLen; i++) {
          int b = db[i] & 0xff;
          int isZero = isZero(b);
          int isOne = isZero(b ^ 1);
          int found = looking & isOne;
          separator = select(found, i, separator);
          // a byte other than 0x00 or 0x01 before the separator is malformed
          bad |= looking & (1 ^ isZero) & (1 ^ isOne);
          looking &= isZero;
        }
        bad |= looking; // no separator at all
        if (bad != 0) {
          throw new BadPaddingException(FAILURE);
        }
        return Arrays.copyOfRange(db, separator + 1, dbLen);
      } finally {
        Arrays.fill(seed, (byte) 0);
        if (db != null) {
          Arrays.fill(db, (byte) 0);
        }
      }
    } finally {
      Arrays.fill(em, (byte) 0);
    }
  }

  /** The hash's digest length, for plaintext limits: 20 for SHA-1, 32 for SHA-256. */
  public static int hashLength(String hash) {
    return digest(hash).getDigestLength();
  }

  /** 1 when {@code v} (0..255) is 0, else 0, without a branch. */
  private static int isZero(int v) {
    return ((v - 1) >>> 31) & 1;
  }

  /** {@code a} when {@code choice} is 1, {@code b} when it is 0, without a branch. */
  private static int select(int choice, int a, int b) {
    int mask = -choice;
    return (a & mask) | (b & ~mask);
  }

  /** MGF1 (RFC 8017 §B.2.1) of {@code seed[from, from + seedLen)}, {@code length} bytes. */
  private static byte[] mgf1(MessageDigest md, byte[] seed, int from, int seedLen, int length) {
    byte[] out = new byte[length];
    byte[] counter = new byte[4];
    int done = 0;
    for (int c = 0; done < length; c++) {
      counter[0] = (byte) (c >>> 24);
      counter[1] = (byte) (c >>> 16);
      counter[2] = (byte) (c >>> 8);
      counter[3] = (byte) c;
      md.update(seed, from, seedLen);
      md.update(counter);
      byte[] block = md.digest();
      int n = Math.min(block.length, length - done);
      System.arraycopy(block, 0, out, done, n);
      Arrays.fill(block, (byte) 0);
      done += n;
    }
    return out;
  }

  private static MessageDigest digest(String hash) {
    if (!"SHA-1".equals(hash) && !"SHA-256".equals(hash)) {
      throw new IllegalArgumentException("OAEP hash " + hash + " is not one of AWS KMS's");
    }
    try {
      return MessageDigest.getInstance(hash);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(hash + " is missing from the JDK", e);
    }
  }
}
