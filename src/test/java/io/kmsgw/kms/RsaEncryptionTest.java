package io.kmsgw.kms;

import static io.kmsgw.testing.KmsFixture.ROOT;
import static io.kmsgw.testing.KmsFixture.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.domain.Origin;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.testing.KmsFixture;
import io.kmsgw.testing.OnEveryToken;
import io.kmsgw.testing.TokenKind;
import java.math.BigInteger;
import java.security.KeyFactory;
import java.security.SecureRandom;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import javax.crypto.Cipher;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;

/**
 * Encrypt, Decrypt and ReEncrypt with RSA keys of usage ENCRYPT_DECRYPT on each token, judged by the JDK's own
 * RSA-OAEP ({@code Cipher} with MGF1 over the same hash as the label digest, as AWS KMS does) with the public key
 * the HSM holds. On SoftHSM2 RSAES_OAEP_SHA_256 takes the fallback (raw RSA in the HSM, OAEP decoded in the gateway);
 * on NSS both hashes take the token's CKM_RSA_PKCS_OAEP.
 */
@OnEveryToken
class RsaEncryptionTest {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final String SHA1 = "RSAES_OAEP_SHA_1";
  private static final String SHA256 = "RSAES_OAEP_SHA_256";
  private static KmsFixture kms;
  private static KeyRecord rsa2048;
  private static KeyRecord other2048;
  private static KeyRecord symmetric;

  @Parameter
  TokenKind kind;

  @BeforeParameterizedClassInvocation
  static void start(TokenKind kind) {
    kms = new KmsFixture(kind, "rsa-enc");
    rsa2048 = create(KeySpec.RSA_2048, KeyUsage.ENCRYPT_DECRYPT);
    other2048 = create(KeySpec.RSA_2048, KeyUsage.ENCRYPT_DECRYPT);
    symmetric = kms.newKey();
  }

  @AfterParameterizedClassInvocation
  static void stop() {
    kms.close();
  }

  private static KeyRecord create(KeySpec spec, KeyUsage usage) {
    return await(kms.keys.createKey(ROOT, new KeyService.NewKey("rsa encryption", spec, usage, Origin.AWS_KMS,
        List.of(), null, false)));
  }

  private static String hash(String algorithm) {
    return algorithm.equals(SHA1) ? "SHA-1" : "SHA-256";
  }

  private static RSAPublicKey publicKey(KeyRecord key) throws Exception {
    HsmKey object = new HsmKey(key.current().hsmLabel(), key.current().hsmId());
    byte[] spki = await(kms.keyStore.run(ErrorCode.KMS_INTERNAL, null, s -> s.publicKeyInfo(object, key.keySpec())));
    return (RSAPublicKey) KeyFactory.getInstance("RSA").generatePublic(new X509EncodedKeySpec(spki));
  }

  /** The JDK's RSA-OAEP with the hash for the digest and MGF1, the empty label: what a client of AWS KMS runs. */
  private static byte[] jdkEncrypt(KeyRecord key, String algorithm, byte[] plaintext) throws Exception {
    Cipher cipher = Cipher.getInstance("RSA/ECB/OAEPWithSHA-256AndMGF1Padding");
    cipher.init(Cipher.ENCRYPT_MODE, publicKey(key), new OAEPParameterSpec(hash(algorithm), "MGF1",
        new MGF1ParameterSpec(hash(algorithm)), PSource.PSpecified.DEFAULT));
    return cipher.doFinal(plaintext);
  }

  private static byte[] decrypt(KeyRecord key, byte[] ciphertext, String algorithm) {
    return await(kms.crypto.decrypt(ROOT, ciphertext, key.keyId(), Map.of(), algorithm, false, false)).plaintext();
  }

  private static byte[] encrypt(KeyRecord key, byte[] plaintext, String algorithm) {
    return await(kms.crypto.encrypt(ROOT, key.keyId(), plaintext, Map.of(), algorithm, false)).ciphertextBlob();
  }

  private static KmsException assertFails(ErrorCode code, Supplier<?> call) {
    KmsException e = assertThrows(KmsException.class, call::get);
    assertEquals(code, e.code(), e.getMessage());
    return e;
  }

  private static byte[] random(int n) {
    byte[] b = new byte[n];
    RANDOM.nextBytes(b);
    return b;
  }

  @Test
  void theTokenPathIsTheOneTheBriefExpects() {
    java.util.Set<String> hashes = kms.keyStore.status().mechanisms().oaepHashes();
    assertTrue(hashes.contains("SHA-1"), hashes.toString());
    // SoftHSM2 2.6.1 refuses OAEP with SHA-256 (the fallback is exercised); NSS takes it (the mechanism is)
    assertEquals(kind == TokenKind.NSS, hashes.contains("SHA-256"), hashes.toString());
  }

  @Test
  void jdkEncrypts_gatewayDecrypts_bothHashes_upToAwsLimit() throws Exception {
    for (String algorithm : List.of(SHA1, SHA256)) {
      int limit = algorithm.equals(SHA1) ? 214 : 190;
      for (int length : List.of(1, 32, limit)) {
        byte[] plaintext = random(length);
        byte[] ciphertext = jdkEncrypt(rsa2048, algorithm, plaintext);
        assertEquals(256, ciphertext.length);
        assertArrayEquals(plaintext, decrypt(rsa2048, ciphertext, algorithm), algorithm + " " + length);
      }
    }
  }

  @Test
  void gatewayEncrypts_rawModulusLengthCiphertext_thatDecrypts() {
    for (String algorithm : List.of(SHA1, SHA256)) {
      byte[] plaintext = random(100);
      byte[] first = encrypt(rsa2048, plaintext, algorithm);
      byte[] second = encrypt(rsa2048, plaintext, algorithm);
      assertEquals(256, first.length, "the raw RSA ciphertext, as AWS's is");
      assertFalse(Arrays.equals(first, second), "OAEP is randomised");
      assertArrayEquals(plaintext, decrypt(rsa2048, first, algorithm));
      assertArrayEquals(plaintext, decrypt(rsa2048, second, algorithm));
    }
  }

  /** RSA_4096 takes the same path; its generation outlasts this fixture's 2-second HSM call limit (RsaEncryptionIT). */
  @Test
  void largerKeys_haveAwsLimits_andRoundTrip() throws Exception {
    for (KeySpec spec : List.of(KeySpec.RSA_3072)) {
      KeyRecord key = create(spec, KeyUsage.ENCRYPT_DECRYPT);
      int k = spec.bits() / 8;
      for (String algorithm : List.of(SHA1, SHA256)) {
        // AWS: RSA_3072 342 and 318 bytes, RSA_4096 470 and 446 bytes
        int limit = k - 2 * (algorithm.equals(SHA1) ? 20 : 32) - 2;
        assertEquals(spec == KeySpec.RSA_3072 ? (algorithm.equals(SHA1) ? 342 : 318)
            : (algorithm.equals(SHA1) ? 470 : 446), limit);
        byte[] plaintext = random(limit);
        byte[] ciphertext = encrypt(key, plaintext, algorithm);
        assertEquals(k, ciphertext.length);
        assertArrayEquals(plaintext, decrypt(key, ciphertext, algorithm));
        assertArrayEquals(plaintext, decrypt(key, jdkEncrypt(key, algorithm, plaintext), algorithm));
        KmsException e = assertFails(ErrorCode.VALIDATION, () -> encrypt(key, random(limit + 1), algorithm));
        assertTrue(e.getMessage().contains("cannot encrypt data larger than " + limit + " bytes"), e.getMessage());
      }
    }
  }

  @Test
  void encrypt_overTheLimit_failsValidation() {
    KmsException e = assertFails(ErrorCode.VALIDATION, () -> encrypt(rsa2048, random(191), SHA256));
    assertEquals("Algorithm RSAES_OAEP_SHA_256 and key spec RSA_2048 cannot encrypt data larger than 190 bytes.",
        e.getMessage());
    assertFails(ErrorCode.VALIDATION, () -> encrypt(rsa2048, random(215), SHA1));
  }

  @Test
  void encrypt_withoutAlgorithm_failsInvalidKeyUsage_asAws() {
    KmsException e = assertFails(ErrorCode.INVALID_KEY_USAGE, () -> encrypt(rsa2048, random(10), null));
    assertEquals("Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.", e.getMessage());
    assertFails(ErrorCode.INVALID_KEY_USAGE, () -> encrypt(rsa2048, random(10), "SYMMETRIC_DEFAULT"));
  }

  @Test
  void encrypt_withEncryptionContext_failsValidation() {
    assertFails(ErrorCode.VALIDATION, () -> await(kms.crypto.encrypt(ROOT, rsa2048.keyId(), random(10),
        Map.of("purpose", "test"), SHA256, false)));
  }

  @Test
  void decrypt_withEncryptionContext_failsValidation() throws Exception {
    byte[] ciphertext = jdkEncrypt(rsa2048, SHA256, random(10));
    assertFails(ErrorCode.VALIDATION, () -> await(kms.crypto.decrypt(ROOT, ciphertext, rsa2048.keyId(),
        Map.of("purpose", "test"), SHA256, false, false)));
  }

  @Test
  void decrypt_withoutKeyId_failsValidation() throws Exception {
    byte[] ciphertext = jdkEncrypt(rsa2048, SHA256, random(10));
    assertFails(ErrorCode.VALIDATION, () -> await(kms.crypto.decrypt(ROOT, ciphertext, null, Map.of(), SHA256,
        false, false)));
  }

  @Test
  void rsaAlgorithm_withSymmetricKey_failsInvalidKeyUsage() {
    assertFails(ErrorCode.INVALID_KEY_USAGE, () -> encrypt(symmetric, random(10), SHA256));
    assertFails(ErrorCode.INVALID_KEY_USAGE, () -> decrypt(symmetric, random(256), SHA256));
  }

  @Test
  void signingKey_cannotEncryptOrDecrypt() {
    KeyRecord signing = create(KeySpec.RSA_2048, KeyUsage.SIGN_VERIFY);
    assertFails(ErrorCode.INVALID_KEY_USAGE, () -> encrypt(signing, random(10), SHA256));
    assertFails(ErrorCode.INVALID_KEY_USAGE, () -> decrypt(signing, random(256), SHA256));
  }

  @Test
  void encryptAndDecrypt_dryRun_stopAfterTheChecks() throws Exception {
    assertFails(ErrorCode.DRY_RUN_OPERATION, () -> await(kms.crypto.encrypt(ROOT, rsa2048.keyId(), random(10),
        Map.of(), SHA256, true)));
    byte[] ciphertext = jdkEncrypt(rsa2048, SHA1, random(10));
    assertFails(ErrorCode.DRY_RUN_OPERATION, () -> await(kms.crypto.decrypt(ROOT, ciphertext, rsa2048.keyId(),
        Map.of(), SHA1, true, false)));
    assertFails(ErrorCode.DRY_RUN_OPERATION, () -> await(kms.crypto.decrypt(ROOT, null, rsa2048.keyId(),
        Map.of(), SHA1, true, true)));
  }

  /**
   * Every way a ciphertext can be wrong answers the same InvalidCiphertextException with the same message, on the
   * token's OAEP and on the fallback alike: no padding oracle.
   */
  @Test
  void everyBadCiphertext_answersOneInvalidCiphertext() throws Exception {
    BigInteger n = publicKey(rsa2048).getModulus();
    List<String> messages = new ArrayList<>();
    for (String algorithm : List.of(SHA1, SHA256)) {
      byte[] good = jdkEncrypt(rsa2048, algorithm, random(20));
      String otherAlgorithm = algorithm.equals(SHA1) ? SHA256 : SHA1;
      List<byte[]> bad = new ArrayList<>();
      for (int position : new int[] {0, 1, 100, 255}) {
        byte[] flipped = good.clone();
        flipped[position] ^= 0x01;
        bad.add(flipped);
      }
      bad.add(Arrays.copyOf(good, 255));
      bad.add(Arrays.copyOf(good, 257));
      bad.add(new byte[256]); // zero: decodes to Y = 0 and garbage
      byte[] nBytes = n.toByteArray();
      bad.add(Arrays.copyOfRange(nBytes, nBytes.length - 256, nBytes.length)); // c = n, out of range
      byte[] ones = new byte[256];
      Arrays.fill(ones, (byte) 0xff);
      bad.add(ones);
      bad.add(jdkEncrypt(rsa2048, otherAlgorithm, random(20))); // the other hash
      bad.add(jdkEncrypt(other2048, algorithm, random(20))); // another key
      for (byte[] ciphertext : bad) {
        messages.add(assertFails(ErrorCode.INVALID_CIPHERTEXT, () -> decrypt(rsa2048, ciphertext, algorithm))
            .getMessage());
      }
    }
    assertEquals(1, messages.stream().distinct().count(), messages.toString());
    // and the key still decrypts: no failure above spoiled a session or a handle
    byte[] plaintext = random(30);
    assertArrayEquals(plaintext, decrypt(rsa2048, jdkEncrypt(rsa2048, SHA256, plaintext), SHA256));
  }

  /**
   * A client's bad ciphertexts are its own fault, never the token's: however the token answers them, no session is
   * evicted, the key store stays CONNECTED (no re-initialisation), and the key's handle stays cached (no
   * C_FindObjects per request).
   */
  @Test
  void badCiphertexts_evictNoSession_keepTheStoreConnected_andFindNoObjects() throws Exception {
    BigInteger n = publicKey(rsa2048).getModulus();
    byte[] good = jdkEncrypt(rsa2048, SHA256, random(16));
    decrypt(rsa2048, good, SHA256); // the handles are cached from here on
    io.kmsgw.hsm.HsmStats before = kms.keyStore.status().stats();
    for (int i = 0; i < 100; i++) {
      String algorithm = i % 2 == 0 ? SHA1 : SHA256;
      byte[] ciphertext = switch (i % 4) {
        case 0 -> good.clone();
        case 1 -> Arrays.copyOfRange(n.subtract(BigInteger.valueOf(i)).toByteArray(), 1, 257); // just below n
        case 2 -> leadingZeros(random(200)); // a small representative: 56 leading zero bytes
        default -> random(256);
      };
      if (i % 4 == 0) {
        ciphertext[RANDOM.nextInt(256)] ^= 0x40;
      }
      byte[] c = ciphertext;
      assertThrows(KmsException.class, () -> decrypt(rsa2048, c, algorithm));
    }
    io.kmsgw.hsm.HsmStats after = kms.keyStore.status().stats();
    assertEquals(io.kmsgw.keystore.KeyStoreConnection.State.CONNECTED, kms.keyStore.status().state());
    assertEquals(before.evicted(), after.evicted(), "no session evicted");
    assertEquals(before.findObjects(), after.findObjects(), "no C_FindObjects per request");
    assertEquals(before.logins(), after.logins(), "no re-initialisation (a new login)");
    assertArrayEquals(new byte[] {1, 2, 3}, decrypt(rsa2048, jdkEncrypt(rsa2048, SHA1, new byte[] {1, 2, 3}), SHA1));
  }

  private static byte[] leadingZeros(byte[] tail) {
    byte[] c = new byte[256];
    System.arraycopy(tail, 0, c, 256 - tail.length, tail.length);
    return c;
  }

  @Test
  void reEncrypt_symmetricToRsa_rsaToRsa_rsaToSymmetric() throws Exception {
    byte[] plaintext = random(150);
    Map<String, String> context = Map.of("purpose", "reencrypt");
    byte[] blob = await(kms.crypto.encrypt(ROOT, symmetric.keyId(), plaintext, context, null, false))
        .ciphertextBlob();
    CryptoService.ReEncryptResult toRsa = await(kms.crypto.reEncrypt(ROOT, blob, null, context, null,
        rsa2048.keyId(), Map.of(), SHA256, false));
    assertEquals(256, toRsa.ciphertextBlob().length);
    assertEquals(symmetric.keyId(), toRsa.source().keyId());
    assertArrayEquals(plaintext, decrypt(rsa2048, toRsa.ciphertextBlob(), SHA256));

    CryptoService.ReEncryptResult rsaToRsa = await(kms.crypto.reEncrypt(ROOT, toRsa.ciphertextBlob(),
        rsa2048.keyId(), Map.of(), SHA256, other2048.keyId(), Map.of(), SHA1, false));
    assertArrayEquals(plaintext, decrypt(other2048, rsaToRsa.ciphertextBlob(), SHA1));

    byte[] offline = jdkEncrypt(other2048, SHA1, plaintext);
    CryptoService.ReEncryptResult toSymmetric = await(kms.crypto.reEncrypt(ROOT, offline, other2048.keyId(),
        Map.of(), SHA1, symmetric.keyId(), Map.of("to", "symmetric"), null, false));
    assertArrayEquals(plaintext, await(kms.crypto.decrypt(ROOT, toSymmetric.ciphertextBlob(), null,
        Map.of("to", "symmetric"), null, false, false)).plaintext());
  }

  @Test
  void reEncrypt_badInput_getsAwsErrors() throws Exception {
    byte[] offline = jdkEncrypt(rsa2048, SHA256, random(20));
    // an RSA source needs SourceKeyId
    assertFails(ErrorCode.VALIDATION, () -> await(kms.crypto.reEncrypt(ROOT, offline, null, Map.of(), SHA256,
        symmetric.keyId(), Map.of(), null, false)));
    // an RSA destination needs its algorithm
    byte[] blob = await(kms.crypto.encrypt(ROOT, symmetric.keyId(), random(20), Map.of(), null, false))
        .ciphertextBlob();
    assertFails(ErrorCode.INVALID_KEY_USAGE, () -> await(kms.crypto.reEncrypt(ROOT, blob, null, Map.of(), null,
        rsa2048.keyId(), Map.of(), null, false)));
    // a destination context with an RSA destination
    assertFails(ErrorCode.VALIDATION, () -> await(kms.crypto.reEncrypt(ROOT, blob, null, Map.of(), null,
        rsa2048.keyId(), Map.of("a", "b"), SHA256, false)));
    // a symmetric plaintext over the RSA destination's limit: AWS's limit, once the size is known
    byte[] big = await(kms.crypto.encrypt(ROOT, symmetric.keyId(), random(191), Map.of(), null, false))
        .ciphertextBlob();
    assertFails(ErrorCode.VALIDATION, () -> await(kms.crypto.reEncrypt(ROOT, big, null, Map.of(), null,
        rsa2048.keyId(), Map.of(), SHA256, false)));
    // a tampered RSA source: the one InvalidCiphertextException
    byte[] tampered = offline.clone();
    tampered[17] ^= 0x40;
    assertFails(ErrorCode.INVALID_CIPHERTEXT, () -> await(kms.crypto.reEncrypt(ROOT, tampered, rsa2048.keyId(),
        Map.of(), SHA256, symmetric.keyId(), Map.of(), null, false)));
  }

  /** kms:EncryptionAlgorithm carries the RSA algorithm the request names, in Encrypt, Decrypt and ReEncrypt. */
  @Test
  void aKeyPolicy_canRequireOneRsaAlgorithm() throws Exception {
    KeyRecord key = await(kms.keys.createKey(ROOT, new KeyService.NewKey("sha-256 only", KeySpec.RSA_2048,
        KeyUsage.ENCRYPT_DECRYPT, Origin.AWS_KMS, List.of(), null, false, """
        {"Version":"2012-10-17","Statement":[
          {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
          {"Effect":"Deny","Principal":"*","Action":["kms:Encrypt","kms:Decrypt","kms:ReEncrypt*"],"Resource":"*",
           "Condition":{"StringNotEquals":{"kms:EncryptionAlgorithm":"RSAES_OAEP_SHA_256"}}}]}""", false)));
    byte[] plaintext = random(20);
    assertArrayEquals(plaintext, decrypt(key, encrypt(key, plaintext, SHA256), SHA256));
    assertFails(ErrorCode.ACCESS_DENIED, () -> encrypt(key, plaintext, SHA1));
    byte[] sha1 = jdkEncrypt(key, SHA1, plaintext);
    assertFails(ErrorCode.ACCESS_DENIED, () -> decrypt(key, sha1, SHA1));
    assertFails(ErrorCode.ACCESS_DENIED, () -> await(kms.crypto.reEncrypt(ROOT, sha1, key.keyId(), Map.of(), SHA1,
        symmetric.keyId(), Map.of(), null, false)));
  }

  /** A grant of Decrypt on an RSA key lets its grantee decrypt, and nothing else (GrantRules: the key's operations). */
  @Test
  void aDecryptGrant_onAnRsaKey_letsTheGranteeDecryptOnly() throws Exception {
    io.kmsgw.domain.Caller grantee = new io.kmsgw.domain.Caller("arn:aws:iam::111122223333:user/rsa-reader",
        "111122223333", "AIDARSAREADER", "AKIARSAREADER", "IAMUser");
    byte[] plaintext = random(40);
    byte[] ciphertext = jdkEncrypt(other2048, SHA256, plaintext);
    assertFails(ErrorCode.ACCESS_DENIED, () -> await(kms.crypto.decrypt(grantee, ciphertext, other2048.keyId(),
        Map.of(), SHA256, false, false)));
    await(kms.grants.createGrant(ROOT, other2048.keyId(), new GrantService.NewGrant(grantee.arn(), null,
        List.of("Decrypt"), null, null, false)));
    assertArrayEquals(plaintext, await(kms.crypto.decrypt(grantee, ciphertext, other2048.keyId(), Map.of(), SHA256,
        false, false)).plaintext());
    assertFails(ErrorCode.ACCESS_DENIED, () -> await(kms.crypto.encrypt(grantee, other2048.keyId(), plaintext,
        Map.of(), SHA256, false)));
    // the operations of a symmetric key only are refused on an RSA key
    assertFails(ErrorCode.VALIDATION, () -> await(kms.grants.createGrant(ROOT, other2048.keyId(),
        new GrantService.NewGrant(grantee.arn(), null, List.of("GenerateDataKey"), null, null, false))));
  }
}
