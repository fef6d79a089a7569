package io.kmsgw.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.security.interfaces.RSAPrivateKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.MGF1ParameterSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.crypto.BadPaddingException;
import javax.crypto.Cipher;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The gateway's OAEP decoding against encodings made by the JDK's own RSA-OAEP: a JDK ciphertext, opened with the raw
 * RSA private operation ({@code c^d mod n}, what {@code CKM_RSA_X_509} returns), decodes to the plaintext; every
 * tampered encoding, at every byte position, and every malformed structure fails with the one error.
 */
class OaepDecodingTest {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static RSAPublicKey publicKey;
  private static RSAPrivateKey privateKey;
  private static final int K = 256;

  @BeforeAll
  static void keys() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    KeyPair pair = g.generateKeyPair();
    publicKey = (RSAPublicKey) pair.getPublic();
    privateKey = (RSAPrivateKey) pair.getPrivate();
  }

  private static OAEPParameterSpec awsParameters(String hash) {
    return new OAEPParameterSpec(hash, "MGF1", new MGF1ParameterSpec(hash), PSource.PSpecified.DEFAULT);
  }

  /** The JDK's RSA-OAEP ciphertext of the plaintext, opened by the raw private operation: EM, k bytes. */
  private static byte[] jdkEncoding(String hash, byte[] plaintext) throws Exception {
    Cipher cipher = Cipher.getInstance("RSA/ECB/OAEPPadding");
    cipher.init(Cipher.ENCRYPT_MODE, publicKey, awsParameters(hash));
    BigInteger c = new BigInteger(1, cipher.doFinal(plaintext));
    return fixed(c.modPow(privateKey.getPrivateExponent(), publicKey.getModulus()));
  }

  private static byte[] fixed(BigInteger v) {
    byte[] b = v.toByteArray();
    byte[] out = new byte[K];
    int n = Math.min(b.length, K);
    System.arraycopy(b, b.length - n, out, K - n, n);
    return out;
  }

  /** The JDK decrypts {@code em} raised to e: it judges the hand-built encodings below. */
  private static byte[] jdkDecodes(String hash, byte[] em) throws Exception {
    byte[] c = fixed(new BigInteger(1, em).modPow(publicKey.getPublicExponent(), publicKey.getModulus()));
    Cipher cipher = Cipher.getInstance("RSA/ECB/OAEPPadding");
    cipher.init(Cipher.DECRYPT_MODE, privateKey, awsParameters(hash));
    return cipher.doFinal(c);
  }

  /**
   * A hand-built encoding of {@code db} (lHash || PS || 0x01 || M, or anything else) under a random seed, RFC 8017
   * §7.1.1 step 2.d-i: the way to build malformed structures the JDK would never produce.
   */
  private static byte[] encode(String hash, byte[] db, int y) throws Exception {
    MessageDigest md = MessageDigest.getInstance(hash);
    int hLen = md.getDigestLength();
    byte[] seed = new byte[hLen];
    RANDOM.nextBytes(seed);
    byte[] maskedDb = xor(db, mgf1(md, seed, db.length));
    byte[] maskedSeed = xor(seed, mgf1(md, maskedDb, hLen));
    byte[] em = new byte[K];
    em[0] = (byte) y;
    System.arraycopy(maskedSeed, 0, em, 1, hLen);
    System.arraycopy(maskedDb, 0, em, 1 + hLen, maskedDb.length);
    return em;
  }

  private static byte[] db(String hash, byte[] lHash, byte[] message, int separator) throws Exception {
    int hLen = MessageDigest.getInstance(hash).getDigestLength();
    byte[] db = new byte[K - hLen - 1];
    System.arraycopy(lHash, 0, db, 0, hLen);
    int at = db.length - message.length - 1;
    db[at] = (byte) separator;
    System.arraycopy(message, 0, db, at + 1, message.length);
    return db;
  }

  private static byte[] mgf1(MessageDigest md, byte[] seed, int length) {
    byte[] out = new byte[length];
    for (int c = 0, done = 0; done < length; c++) {
      md.update(seed);
      md.update(new byte[] {(byte) (c >>> 24), (byte) (c >>> 16), (byte) (c >>> 8), (byte) c});
      byte[] block = md.digest();
      System.arraycopy(block, 0, out, done, Math.min(block.length, length - done));
      done += block.length;
    }
    return out;
  }

  private static byte[] xor(byte[] a, byte[] b) {
    byte[] out = a.clone();
    for (int i = 0; i < out.length; i++) {
      out[i] ^= b[i];
    }
    return out;
  }

  private static byte[] lHash(String hash) throws Exception {
    return MessageDigest.getInstance(hash).digest(new byte[0]);
  }

  private static void assertTheOneFailure(byte[] em, String hash, String what) {
    BadPaddingException e = assertThrows(BadPaddingException.class, () -> OaepDecoding.decode(em, hash, K), what);
    assertEquals(OaepDecoding.FAILURE, e.getMessage(), what);
  }

  @ParameterizedTest
  @ValueSource(strings = {"SHA-1", "SHA-256"})
  void jdkEncodings_decode_atEveryLength(String hash) throws Exception {
    int max = K - 2 * MessageDigest.getInstance(hash).getDigestLength() - 2;
    for (int length : new int[] {0, 1, 16, max - 1, max}) {
      byte[] plaintext = new byte[length];
      RANDOM.nextBytes(plaintext);
      assertArrayEquals(plaintext, OaepDecoding.decode(jdkEncoding(hash, plaintext), hash, K), hash + " " + length);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"SHA-1", "SHA-256"})
  void aFlippedBit_atEveryBytePosition_isTheOneFailure(String hash) throws Exception {
    byte[] plaintext = "a secret the tamperer wants to learn".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    byte[] good = jdkEncoding(hash, plaintext);
    for (int i = 0; i < K; i++) {
      for (int bit : new int[] {0x01, 0x80}) {
        byte[] em = good.clone();
        em[i] ^= (byte) bit;
        assertTheOneFailure(em, hash, "byte " + i + " bit " + bit);
      }
    }
    assertArrayEquals(plaintext, OaepDecoding.decode(good.clone(), hash, K));
  }

  @ParameterizedTest
  @ValueSource(strings = {"SHA-1", "SHA-256"})
  void malformedStructures_areTheOneFailure(String hash) throws Exception {
    byte[] message = "message".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    // the hand-built well-formed encoding is one the JDK decodes, and so does the gateway
    byte[] wellFormed = encode(hash, db(hash, lHash(hash), message, 0x01), 0);
    assertArrayEquals(message, jdkDecodes(hash, wellFormed));
    assertArrayEquals(message, OaepDecoding.decode(wellFormed, hash, K));

    List<byte[]> bad = new ArrayList<>();
    bad.add(encode(hash, db(hash, lHash(hash), message, 0x01), 1)); // Y not zero
    bad.add(encode(hash, db(hash, lHash(hash), message, 0x01), 0x80));
    byte[] wrongLabel = lHash(hash);
    wrongLabel[wrongLabel.length - 1] ^= 1;
    bad.add(encode(hash, db(hash, wrongLabel, message, 0x01), 0)); // another label's hash
    bad.add(encode(hash, db(hash, lHash(hash), message, 0x02), 0)); // PS ends in 0x02, not 0x01
    bad.add(encode(hash, db(hash, lHash(hash), message, 0xff), 0));
    byte[] noSeparator = db(hash, lHash(hash), new byte[0], 0x00); // only zeros after lHash
    bad.add(encode(hash, noSeparator, 0));
    byte[] nonZeroPs = db(hash, lHash(hash), message, 0x01);
    nonZeroPs[lHash(hash).length + 3] = 0x05; // a non-zero byte inside PS, before the separator
    bad.add(encode(hash, nonZeroPs, 0));
    for (int i = 0; i < bad.size(); i++) {
      byte[] em = bad.get(i);
      final int index = i;
      assertThrows(BadPaddingException.class, () -> jdkDecodes(hash, em.clone()), "the JDK agrees: case " + index);
      assertTheOneFailure(em, hash, "case " + i);
    }
    assertTheOneFailure(new byte[K], hash, "all zeros");
    assertTheOneFailure(Arrays.copyOf(wellFormed, K - 1), hash, "one byte short");
    assertTheOneFailure(Arrays.copyOf(wellFormed, K + 1), hash, "one byte long");
  }

  @ParameterizedTest
  @ValueSource(strings = {"SHA-1", "SHA-256"})
  void theEncodedMessage_isWiped_onSuccessAndOnFailure(String hash) throws Exception {
    byte[] em = jdkEncoding(hash, new byte[] {1, 2, 3});
    OaepDecoding.decode(em, hash, K);
    assertTrue(isZero(em));
    byte[] bad = jdkEncoding(hash, new byte[] {1, 2, 3});
    bad[40] ^= 1;
    assertTheOneFailure(bad, hash, "flipped");
    assertTrue(isZero(bad));
  }

  private static boolean isZero(byte[] b) {
    int acc = 0;
    for (byte x : b) {
      acc |= x;
    }
    return acc == 0;
  }
}
