package io.kmsgw.kms;

import static io.kmsgw.testing.KmsFixture.ROOT;
import static io.kmsgw.testing.KmsFixture.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.domain.KeyRecord;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.format.CiphertextBlob;
import io.kmsgw.format.EncryptionContextCodec;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.hsm.pkcs11.Pkcs11Options;
import io.kmsgw.testing.KmsFixture;
import io.kmsgw.testing.TestPkcs11Module;
import io.kmsgw.testing.TestToken;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * KMS Encrypt, Decrypt, GenerateDataKey and ReEncrypt on the test module in CloudHSM mode with
 * {@code gcm_iv_from_hsm: true}; the module is switched to caller IVs (SoftHSM2's behaviour) to show that blobs cross
 * between the modes in both directions.
 */
class HsmIvCryptoTest {
  private static final Map<String, String> CONTEXT = Map.of("purpose", "hsm-iv");
  private static final byte[] LONG = "thirty-two bytes of plaintext...".getBytes(StandardCharsets.UTF_8);
  private static final byte[] SHORT = "short".getBytes(StandardCharsets.UTF_8);
  private static TestPkcs11Module module;
  private static KmsFixture kms;
  private static KeyRecord key;

  @BeforeAll
  static void setUp() {
    module = TestPkcs11Module.inThisJvm().reset();
    module.set("vendor=cloudhsm");
    TestToken token = TestToken.create("hsmiv-kms", TestPkcs11Module.library().toString());
    Pkcs11Options o = token.options(4, "cu:" + TestToken.USER_PIN, Duration.ofSeconds(2));
    kms = new KmsFixture(token, TestToken.scratch("hsmiv-kms"), new Pkcs11Options(o.library(), o.tokenLabel(), o.pin(),
        4, o.borrowTimeout(), o.validateAfterIdle(), false, false, 1, true));
    key = kms.newKey();
  }

  @AfterEach
  void cloudHsmAgain() {
    module.set("vendor=cloudhsm");
  }

  @AfterAll
  static void tearDown() {
    kms.close();
    module.reset();
  }

  private static byte[] encrypt(byte[] plaintext) {
    return await(kms.crypto.encrypt(ROOT, key.keyId(), plaintext, CONTEXT, null, false)).ciphertextBlob();
  }

  private static byte[] decrypt(byte[] blob) {
    return await(kms.crypto.decrypt(ROOT, blob, null, CONTEXT, null, false, false)).plaintext();
  }

  /** The module with caller IVs: what SoftHSM2 (or a Luna outside FIPS mode) does. The PIN rule stays. */
  private static void callerIvs() {
    module.set("pin=user:password");
  }

  @Test
  void encrypt_ofSixteenBytesOrMore_makesAVersion2Blob_thatDecrypts_hereAndOnACallerIvToken() {
    byte[] blob = encrypt(LONG);
    assertEquals(CiphertextBlob.VERSION_HSM_IV, blob[0]);
    assertEquals(LONG.length + CiphertextBlob.OVERHEAD, blob.length);
    assertArrayEquals(LONG, decrypt(blob));
    callerIvs();
    assertArrayEquals(LONG, decrypt(blob));
  }

  @Test
  void encrypt_ofAShortPlaintext_makesAVersion3Blob_whoseZeroBlockDecryptStrips() {
    byte[] blob = encrypt(SHORT);
    assertEquals(CiphertextBlob.VERSION_HSM_IV_PADDED, blob[0]);
    assertEquals(SHORT.length + 16 + CiphertextBlob.OVERHEAD, blob.length);
    assertArrayEquals(SHORT, decrypt(blob));
    callerIvs();
    assertArrayEquals(SHORT, decrypt(blob));
  }

  @Test
  void aVersion1Blob_madeWithTheCallersIv_decryptsOnTheHsmIvToken() throws Exception {
    callerIvs();
    byte[] iv = new byte[12];
    new java.security.SecureRandom().nextBytes(iv);
    byte[] header = CiphertextBlob.header(key.keyId(), 1, iv);
    byte[] aad = CiphertextBlob.aad(header, EncryptionContextCodec.encode(CONTEXT));
    HsmKey object = new HsmKey(key.current().hsmLabel(), key.current().hsmId());
    byte[] sealed = kms.keyStore.hsm(ErrorCode.KMS_INTERNAL).withSession(s -> s.encryptAesGcm(object, iv, aad, LONG));
    byte[] blob = new CiphertextBlob(key.keyId(), 1, iv, sealed).toBytes();
    module.set("vendor=cloudhsm");
    assertArrayEquals(LONG, decrypt(blob));
  }

  @Test
  void tamperedHsmIvBlobs_failInvalidCiphertext() {
    byte[] blob = encrypt(SHORT);
    for (int index : new int[] {0, 5, 20, 25, CiphertextBlob.HEADER_LENGTH, blob.length - 1}) {
      byte[] t = blob.clone();
      t[index] ^= 0x01;
      KmsException e = assertThrows(KmsException.class, () -> decrypt(t), "byte " + index);
      assertEquals(ErrorCode.INVALID_CIPHERTEXT, e.code(), "byte " + index);
    }
    KmsException e = assertThrows(KmsException.class,
        () -> await(kms.crypto.decrypt(ROOT, blob, null, Map.of("purpose", "other"), null, false, false)));
    assertEquals(ErrorCode.INVALID_CIPHERTEXT, e.code());
  }

  @Test
  void generateDataKey_andReEncrypt_sealWithTheHsmsIv() {
    var dk = await(kms.crypto.generateDataKey(ROOT, key.keyId(), 32, CONTEXT, false));
    assertEquals(CiphertextBlob.VERSION_HSM_IV, dk.ciphertextBlob()[0]);
    assertArrayEquals(dk.plaintext(), decrypt(dk.ciphertextBlob()));
    byte[] old = encrypt(SHORT);
    var re = await(kms.crypto.reEncrypt(ROOT, old, null, CONTEXT, null, key.keyId(), CONTEXT, null, false));
    assertEquals(CiphertextBlob.VERSION_HSM_IV_PADDED, re.ciphertextBlob()[0]);
    assertArrayEquals(SHORT, decrypt(re.ciphertextBlob()));
  }

  @Test
  void onACallerIvToken_hsmIvSealing_isRefused_withAMessageNamingTheFlag() {
    callerIvs();
    KmsException e = assertThrows(KmsException.class, () -> encrypt(LONG));
    assertTrue(e.getMessage() != null, "an AWS-shaped error");
    assertTrue(!e.getMessage().contains("CKR_"), e.getMessage());
  }

  @Test
  void secretSealer_sealsWithTheHsmsIv_andItsSealOpensOnACallerIvToken() {
    io.kmsgw.keystore.SecretSealer sealer = io.kmsgw.keystore.SecretSealer.identities(kms.stores);
    byte[] secret = "short".getBytes(StandardCharsets.UTF_8);
    byte[] sealed = sealer.seal("owner-1", secret);
    assertEquals(2, sealed[0], "version 2: HSM IV, zero block in front");
    assertArrayEquals(secret, sealer.unseal("owner-1", sealed));
    // CloudHSM's tag-mismatch code (CKR_ENCRYPTED_DATA_INVALID): a seal moved to another owner does not open
    assertThrows(KmsException.class, () -> sealer.unseal("owner-2", sealed));
    callerIvs();
    assertArrayEquals(secret, sealer.unseal("owner-1", sealed));
  }

  private static ExternalKeyService.Exposure exposure() {
    return new ExternalKeyService.Exposure(io.kmsgw.domain.KeyRecord.DEFAULT_KEY_STORE, null,
        java.util.Set.of(key.keyId().toString()), java.util.List.of());
  }

  @Test
  void xksEncrypt_usesTheHsmsIv_andDecryptsHere_andOnACallerIvToken() {
    ExternalKeyService xks = new ExternalKeyService(kms.keys, kms.aliases, kms.stores, false);
    byte[] aad = "xks aad".getBytes(StandardCharsets.UTF_8);
    ExternalKeyService.Sealed sealed = await(xks.encrypt(exposure(), key.keyId().toString(), LONG, aad, true, a -> {}));
    assertEquals(LONG.length, sealed.ciphertext().length);
    assertArrayEquals(LONG, await(xks.decrypt(exposure(), key.keyId().toString(), sealed.ciphertext(),
        sealed.metadata(), aad, sealed.iv(), sealed.tag(), a -> {})));
    callerIvs();
    assertArrayEquals(LONG, await(xks.decrypt(exposure(), key.keyId().toString(), sealed.ciphertext(),
        sealed.metadata(), aad, sealed.iv(), sealed.tag(), a -> {})));
  }

  @Test
  void xksEncrypt_ofUnder16Bytes_isRefusedWithAValidationError_inHsmIvMode() {
    ExternalKeyService xks = new ExternalKeyService(kms.keys, kms.aliases, kms.stores, false);
    KmsException e = assertThrows(KmsException.class,
        () -> await(xks.encrypt(exposure(), key.keyId().toString(), SHORT, new byte[0], false, a -> {})));
    assertEquals(ErrorCode.VALIDATION, e.code());
    assertTrue(e.getMessage().contains("16 bytes"), e.getMessage());
  }
}
