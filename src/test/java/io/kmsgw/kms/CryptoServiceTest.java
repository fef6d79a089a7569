package io.kmsgw.kms;

import static io.kmsgw.testing.KmsFixture.ROOT;
import static io.kmsgw.testing.KmsFixture.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.kmsgw.domain.KeyRecord;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.format.CiphertextBlob;
import io.kmsgw.testing.KmsFixture;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.UUID;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Encrypt, Decrypt and data keys through the operations layer on a fresh SoftHSM2 token; one test per tamper case. */
class CryptoServiceTest {
  private static final Map<String, String> CONTEXT = Map.of("purpose", "test", "app", "demo");
  private static final byte[] PLAINTEXT = "the quick brown fox".getBytes(StandardCharsets.UTF_8);
  private static KmsFixture kms;
  private static KeyRecord key;
  private static KeyRecord other;

  @BeforeAll
  static void setUp() {
    kms = new KmsFixture("crypto");
    key = kms.newKey();
    other = kms.newKey();
  }

  @AfterAll
  static void tearDown() {
    kms.close();
  }

  private static byte[] encrypt(byte[] plaintext, Map<String, String> context) {
    return await(kms.crypto.encrypt(ROOT, key.keyId(), plaintext, context, null, false)).ciphertextBlob();
  }

  private static byte[] decrypt(byte[] blob, Map<String, String> context) {
    return await(kms.crypto.decrypt(ROOT, blob, null, context, null, false, false)).plaintext();
  }

  private static void assertFails(ErrorCode code, Supplier<?> call) {
    KmsException e = assertThrows(KmsException.class, call::get);
    assertEquals(code, e.code(), e.getMessage());
  }

  private static void assertTamperedFails(java.util.function.UnaryOperator<byte[]> tamper) {
    byte[] blob = encrypt(PLAINTEXT, CONTEXT);
    assertFails(ErrorCode.INVALID_CIPHERTEXT, () -> decrypt(tamper.apply(blob.clone()), CONTEXT));
  }

  private static byte[] flip(byte[] b, int index) {
    b[index] ^= 0x01;
    return b;
  }

  @Test
  void encryptThenDecrypt_withSameContext_returnsThePlaintext() {
    byte[] blob = encrypt(PLAINTEXT, CONTEXT);
    assertEquals(PLAINTEXT.length + CiphertextBlob.OVERHEAD, blob.length);
    assertArrayEquals(PLAINTEXT, decrypt(blob, Map.of("app", "demo", "purpose", "test")));
  }

  @Test
  void decrypt_withTheRightKeyId_returnsThePlaintext() {
    byte[] blob = encrypt(PLAINTEXT, CONTEXT);
    assertArrayEquals(PLAINTEXT,
        await(kms.crypto.decrypt(ROOT, blob, key.keyId(), CONTEXT, "SYMMETRIC_DEFAULT", false, false)).plaintext());
  }

  @Test
  void encrypt_sameInputTwice_givesDifferentBlobs() {
    assertFalse(Arrays.equals(encrypt(PLAINTEXT, CONTEXT), encrypt(PLAINTEXT, CONTEXT)));
  }

  @Test
  void encrypt_4096Bytes_roundTrips() {
    byte[] big = new byte[4096];
    Arrays.fill(big, (byte) 7);
    assertArrayEquals(big, decrypt(encrypt(big, null), null));
  }

  @Test
  void decrypt_withWrongContextValue_failsInvalidCiphertext() {
    byte[] blob = encrypt(PLAINTEXT, CONTEXT);
    assertFails(ErrorCode.INVALID_CIPHERTEXT, () -> decrypt(blob, Map.of("purpose", "prod", "app", "demo")));
  }

  @Test
  void decrypt_withExtraContextPair_failsInvalidCiphertext() {
    byte[] blob = encrypt(PLAINTEXT, CONTEXT);
    assertFails(ErrorCode.INVALID_CIPHERTEXT,
        () -> decrypt(blob, Map.of("purpose", "test", "app", "demo", "x", "y")));
  }

  @Test
  void decrypt_withMissingContextPair_failsInvalidCiphertext() {
    byte[] blob = encrypt(PLAINTEXT, CONTEXT);
    assertFails(ErrorCode.INVALID_CIPHERTEXT, () -> decrypt(blob, Map.of("purpose", "test")));
  }

  @Test
  void decrypt_withoutContext_failsInvalidCiphertext() {
    byte[] blob = encrypt(PLAINTEXT, CONTEXT);
    assertFails(ErrorCode.INVALID_CIPHERTEXT, () -> decrypt(blob, null));
  }

  @Test
  void decrypt_withContextWhenEncryptedWithout_failsInvalidCiphertext() {
    byte[] blob = encrypt(PLAINTEXT, null);
    assertFails(ErrorCode.INVALID_CIPHERTEXT, () -> decrypt(blob, CONTEXT));
  }

  @Test
  void tamper_formatVersion_failsInvalidCiphertext() {
    assertTamperedFails(b -> flip(b, 0));
  }

  @Test
  void tamper_keyId_failsInvalidCiphertext() {
    assertTamperedFails(b -> flip(b, 5));
  }

  @Test
  void tamper_keyVersion_failsInvalidCiphertext() {
    assertTamperedFails(b -> flip(b, 20));
  }

  @Test
  void tamper_iv_failsInvalidCiphertext() {
    assertTamperedFails(b -> flip(b, 25));
  }

  @Test
  void tamper_ciphertextByte_failsInvalidCiphertext() {
    assertTamperedFails(b -> flip(b, CiphertextBlob.HEADER_LENGTH + 2));
  }

  @Test
  void tamper_tagByte_failsInvalidCiphertext() {
    assertTamperedFails(b -> flip(b, b.length - 1));
  }

  @Test
  void tamper_truncatedByOneByte_failsInvalidCiphertext() {
    assertTamperedFails(b -> Arrays.copyOf(b, b.length - 1));
  }

  @Test
  void tamper_truncatedBelowTheMinimum_failsInvalidCiphertext() {
    assertTamperedFails(b -> Arrays.copyOf(b, CiphertextBlob.OVERHEAD - 1));
  }

  @Test
  void tamper_extraByteAppended_failsInvalidCiphertext() {
    assertTamperedFails(b -> Arrays.copyOf(b, b.length + 1));
  }

  @Test
  void tamper_headerSwappedToAnotherExistingKey_failsInvalidCiphertext() {
    UUID otherId = other.keyId();
    assertTamperedFails(b -> {
      java.nio.ByteBuffer.wrap(b, 1, 16).putLong(otherId.getMostSignificantBits())
          .putLong(otherId.getLeastSignificantBits());
      return b;
    });
  }

  @Test
  void decrypt_withKeyIdOfAnotherKey_failsIncorrectKey() {
    byte[] blob = encrypt(PLAINTEXT, CONTEXT);
    assertFails(ErrorCode.INCORRECT_KEY,
        () -> await(kms.crypto.decrypt(ROOT, blob, other.keyId(), CONTEXT, null, false, false)));
  }

  @Test
  void decrypt_withKeyIdOfNoKey_failsNotFound() {
    byte[] blob = encrypt(PLAINTEXT, CONTEXT);
    assertFails(ErrorCode.NOT_FOUND,
        () -> await(kms.crypto.decrypt(ROOT, blob, UUID.randomUUID(), CONTEXT, null, false, false)));
  }

  @Test
  void encrypt_underUnknownKey_failsNotFound() {
    assertFails(ErrorCode.NOT_FOUND,
        () -> await(kms.crypto.encrypt(ROOT, UUID.randomUUID(), PLAINTEXT, null, null, false)));
  }

  @Test
  void encrypt_withAsymmetricAlgorithm_failsInvalidKeyUsage() {
    assertFails(ErrorCode.INVALID_KEY_USAGE,
        () -> await(kms.crypto.encrypt(ROOT, key.keyId(), PLAINTEXT, null, "RSAES_OAEP_SHA_256", false)));
  }

  @Test
  void encrypt_dryRun_failsDryRunOperationWithoutTouchingTheHsm() {
    long before = kms.keyStore.hsm(ErrorCode.KMS_INTERNAL).stats().sessionsOpened();
    assertFails(ErrorCode.DRY_RUN_OPERATION,
        () -> await(kms.crypto.encrypt(ROOT, key.keyId(), PLAINTEXT, null, null, true)));
    assertEquals(before, kms.keyStore.hsm(ErrorCode.KMS_INTERNAL).stats().sessionsOpened());
  }

  @Test
  void decrypt_dryRunIgnoringCiphertext_checksTheKeyOnly() {
    assertFails(ErrorCode.DRY_RUN_OPERATION,
        () -> await(kms.crypto.decrypt(ROOT, null, key.keyId(), null, null, true, true)));
    assertFails(ErrorCode.NOT_FOUND,
        () -> await(kms.crypto.decrypt(ROOT, null, UUID.randomUUID(), null, null, true, true)));
  }

  @Test
  void generateDataKey_returnsPlaintextAndItsSealedCopy() {
    CryptoService.DataKeyResult r = await(kms.crypto.generateDataKey(ROOT, key.keyId(), 32, CONTEXT, false));
    assertEquals(32, r.plaintext().length);
    assertArrayEquals(r.plaintext(), decrypt(r.ciphertextBlob(), CONTEXT));
  }

  @Test
  void generateDataKey_ofOneAnd1024Bytes_haveThoseLengths() {
    assertEquals(1, await(kms.crypto.generateDataKey(ROOT, key.keyId(), 1, null, false)).plaintext().length);
    assertEquals(1024, await(kms.crypto.generateDataKey(ROOT, key.keyId(), 1024, null, false)).plaintext().length);
  }

  @Test
  void generateRandom_returnsTheRequestedLength() {
    assertEquals(1024, await(kms.crypto.generateRandom(ROOT, 1024, null)).length);
  }
}
