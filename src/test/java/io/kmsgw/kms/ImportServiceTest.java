package io.kmsgw.kms;

import static io.kmsgw.testing.KmsFixture.ROOT;
import static io.kmsgw.testing.KmsFixture.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.domain.ImportedMaterial;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeyState;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.domain.Origin;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.store.jdbc.JdbcMetadataStore;
import io.kmsgw.testing.KmsFixture;
import io.kmsgw.testing.OnEveryToken;
import io.kmsgw.testing.TokenKind;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.X509EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;

/**
 * Importing symmetric key material on each token, judged from outside kmsgw: the JDK's RSA-OAEP wraps known material
 * under the public key GetParametersForImport returned, and the JDK's AES-GCM, with that known key, decrypts what
 * Encrypt then produced (docs/ciphertext-format.md): the material the HSM computes with is the material wrapped.
 */
@OnEveryToken
class ImportServiceTest {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static KmsFixture kms;
  private static ImportService imports;

  @Parameter
  TokenKind kind;

  @BeforeParameterizedClassInvocation
  static void start(TokenKind kind) {
    kms = new KmsFixture(kind, "import");
    imports = new ImportService(kms.keys, kms.stores, ((JdbcMetadataStore) kms.store).imports(), kms.cache,
        kms.storeExecutor, kms.clock);
    imports.load();
  }

  @AfterParameterizedClassInvocation
  static void stop() {
    kms.close();
  }

  private static KeyRecord external() {
    return await(kms.keys.createKey(ROOT, new KeyService.NewKey("import test", KeySpec.SYMMETRIC_DEFAULT,
        KeyUsage.ENCRYPT_DECRYPT, Origin.EXTERNAL, List.of(), null, false)));
  }

  private static ImportService.Parameters parameters(KeyRecord key, String algorithm) {
    return await(imports.getParametersForImport(ROOT, key.keyId(), algorithm, "RSA_2048"));
  }

  /** RSA-OAEP with the JDK, as AWS's instructions do it with openssl (MGF1 of the same hash, empty label). */
  static byte[] wrap(byte[] spki, byte[] material, String hash) throws Exception {
    PublicKey pub = KeyFactory.getInstance("RSA").generatePublic(new X509EncodedKeySpec(spki));
    Cipher c = Cipher.getInstance("RSA/ECB/OAEPPadding");
    c.init(Cipher.ENCRYPT_MODE, pub, new OAEPParameterSpec(hash, "MGF1",
        hash.equals("SHA-1") ? MGF1ParameterSpec.SHA1 : MGF1ParameterSpec.SHA256, PSource.PSpecified.DEFAULT));
    return c.doFinal(material);
  }

  private static byte[] material(int length) {
    byte[] m = new byte[length];
    RANDOM.nextBytes(m);
    return m;
  }

  private static KeyRecord importInto(KeyRecord key, byte[] material, String algorithm, String model,
      Instant validTo) throws Exception {
    ImportService.Parameters p = parameters(key, algorithm);
    String hash = algorithm.endsWith("SHA_1") ? "SHA-1" : "SHA-256";
    return await(imports.importKeyMaterial(ROOT, key.keyId(), new ImportService.Material(p.importToken(),
        wrap(p.publicKey(), material, hash), model, validTo, null, null)));
  }

  /** Decrypts an Encrypt blob (version 1, no encryption context) with the JDK and the known key. */
  private static byte[] decryptOffline(byte[] blob, byte[] material) throws Exception {
    assertEquals(1, blob[0], "a version-1 blob");
    byte[] header = Arrays.copyOf(blob, 33);
    Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
    c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(material, "AES"),
        new GCMParameterSpec(128, Arrays.copyOfRange(blob, 21, 33)));
    c.updateAAD(ByteBuffer.allocate(35).put(header).putShort((short) 0).array());
    return c.doFinal(blob, 33, blob.length - 33);
  }

  private static byte[] encrypt(KeyRecord key, byte[] plaintext) {
    return await(kms.crypto.encrypt(ROOT, key.keyId(), plaintext, Map.of(), null, false)).ciphertextBlob();
  }

  private static boolean exists(HsmKey object) {
    Boolean found = await(kms.keyStore.run(ErrorCode.KMS_INTERNAL, null, s -> s.exists(object)));
    return found;
  }

  private static void refused(ErrorCode code, Executable call) {
    KmsException e = assertThrows(KmsException.class, call);
    assertEquals(code, e.code(), e.getMessage());
  }

  private String[] algorithms() {
    // SoftHSM2 2.6.1 has RSA-OAEP with SHA-1 only; NSS's softoken has SHA-256 too
    return kind == TokenKind.SOFTHSM2 ? new String[] {"RSAES_OAEP_SHA_1"}
        : new String[] {"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"};
  }

  @Test
  void createKey_external_isPendingImportWithoutMaterial() {
    KeyRecord key = external();
    assertEquals(KeyState.PENDING_IMPORT, key.state());
    assertEquals(Origin.EXTERNAL, key.origin());
    refused(ErrorCode.KMS_INVALID_STATE, () -> encrypt(key, new byte[] {1}));
    HsmKey object = new HsmKey(key.current().hsmLabel(), key.current().hsmId());
    assertFalse(exists(object));
  }

  @Test
  void importedMaterial_isWhatEncryptUses_judgedByTheJdk() throws Exception {
    for (String algorithm : algorithms()) {
      KeyRecord key = external();
      byte[] material = material(32);
      KeyRecord imported = importInto(key, material, algorithm, "KEY_MATERIAL_DOES_NOT_EXPIRE", null);
      assertEquals(KeyState.ENABLED, imported.state(), algorithm);
      // HSM-generated material never replaces imported material: no rotation of imported keys
      refused(ErrorCode.UNSUPPORTED_OPERATION, () -> await(kms.lifecycle.enableRotation(ROOT, key.keyId(), null)));
      refused(ErrorCode.UNSUPPORTED_OPERATION, () -> await(kms.lifecycle.rotateOnDemand(ROOT, key.keyId())));
      byte[] plaintext = ("imported with " + algorithm).getBytes(StandardCharsets.UTF_8);
      byte[] blob = encrypt(key, plaintext);
      assertArrayEquals(plaintext, decryptOffline(blob, material), algorithm);
      assertArrayEquals(plaintext, await(kms.crypto.decrypt(ROOT, blob, key.keyId(), Map.of(), null, false, false))
          .plaintext());
      ImportedMaterial m = imports.material(key.keyId()).orElseThrow();
      assertEquals(ImportedMaterial.ExpirationModel.KEY_MATERIAL_DOES_NOT_EXPIRE, m.expirationModel());
      // the unwrapped object keeps a CMK's custody: sensitive, never extractable (though not ALWAYS_SENSITIVE)
      HsmKey object = new HsmKey(key.current().hsmLabel(), key.current().hsmId());
      var custody = await(kms.keyStore.run(ErrorCode.KMS_INTERNAL, null, s -> s.custody(object)));
      assertTrue(custody.sensitive() && !custody.extractable() && custody.token() && custody.privateObject(),
          custody.toString());
    }
  }

  @Test
  void oaepSha256_onSoftHsm_isRefusedNamingTheMechanism() {
    KeyRecord key = external();
    if (kind == TokenKind.SOFTHSM2) {
      KmsException e = assertThrows(KmsException.class, () -> parameters(key, "RSAES_OAEP_SHA_256"));
      assertEquals(ErrorCode.UNSUPPORTED_OPERATION, e.code());
      assertTrue(e.getMessage().contains("CKM_RSA_PKCS_OAEP"), e.getMessage());
    } else {
      assertEquals(294, parameters(key, "RSAES_OAEP_SHA_256").publicKey().length);
    }
  }

  @Test
  void pkcs1v15AndSm2AndGeneratedKeys_areRefused() {
    KeyRecord key = external();
    refused(ErrorCode.VALIDATION, () -> parameters(key, "RSAES_PKCS1_V1_5"));
    refused(ErrorCode.UNSUPPORTED_OPERATION, () -> parameters(key, "SM2PKE"));
    refused(ErrorCode.UNSUPPORTED_OPERATION, () -> parameters(kms.newKey(), "RSAES_OAEP_SHA_1"));
  }

  @Test
  void badInput_isRefused_andChangesNothing() throws Exception {
    KeyRecord key = external();
    KeyRecord other = external();
    ImportService.Parameters p = parameters(key, "RSAES_OAEP_SHA_1");
    ImportService.Parameters q = parameters(other, "RSAES_OAEP_SHA_1");
    byte[] material = material(32);
    byte[] wrapped = wrap(p.publicKey(), material, "SHA-1");
    Instant future = kms.clock.instant().plus(Duration.ofDays(30));
    // another key's token
    refused(ErrorCode.INVALID_IMPORT_TOKEN, () -> await(imports.importKeyMaterial(ROOT, key.keyId(),
        new ImportService.Material(q.importToken(), wrapped, null, future, null, null))));
    // a changed token
    byte[] tampered = p.importToken().clone();
    tampered[tampered.length - 1] ^= 1;
    refused(ErrorCode.INVALID_IMPORT_TOKEN, () -> await(imports.importKeyMaterial(ROOT, key.keyId(),
        new ImportService.Material(tampered, wrapped, null, future, null, null))));
    // material wrapped under another key's wrapping key, and tampered material
    refused(ErrorCode.INVALID_CIPHERTEXT, () -> await(imports.importKeyMaterial(ROOT, key.keyId(),
        new ImportService.Material(p.importToken(), wrap(q.publicKey(), material, "SHA-1"), null, future, null,
            null))));
    byte[] flipped = wrapped.clone();
    flipped[10] ^= 1;
    refused(ErrorCode.INVALID_CIPHERTEXT, () -> await(imports.importKeyMaterial(ROOT, key.keyId(),
        new ImportService.Material(p.importToken(), flipped, null, future, null, null))));
    // not SYMMETRIC_DEFAULT's 32 bytes: 20 (no AES key size) everywhere; 16 (AES-128) where the token reports the
    // length of an unwrapped key (SoftHSM2 does not: docs/import.md)
    List<Integer> lengths = kind == TokenKind.SOFTHSM2 ? List.of(20, 33) : List.of(20, 16, 33);
    for (int length : lengths) {
      refused(ErrorCode.INCORRECT_KEY_MATERIAL, () -> await(imports.importKeyMaterial(ROOT, key.keyId(),
          new ImportService.Material(p.importToken(), wrap(p.publicKey(), material(length), "SHA-1"), null, future,
              null, null))));
    }
    // expiration rules
    refused(ErrorCode.VALIDATION, () -> await(imports.importKeyMaterial(ROOT, key.keyId(),
        new ImportService.Material(p.importToken(), wrapped, null, null, null, null))));
    refused(ErrorCode.VALIDATION, () -> await(imports.importKeyMaterial(ROOT, key.keyId(),
        new ImportService.Material(p.importToken(), wrapped, null, kms.clock.instant().minusSeconds(1), null,
            null))));
    refused(ErrorCode.VALIDATION, () -> await(imports.importKeyMaterial(ROOT, key.keyId(),
        new ImportService.Material(p.importToken(), wrapped, "KEY_MATERIAL_DOES_NOT_EXPIRE", future, null, null))));
    // into a key that is not EXTERNAL
    KeyRecord generated = kms.newKey();
    refused(ErrorCode.UNSUPPORTED_OPERATION, () -> await(imports.importKeyMaterial(ROOT, generated.keyId(),
        new ImportService.Material(p.importToken(), wrapped, null, future, null, null))));
    // nothing changed: still PendingImport, no object, and the right request still works
    assertEquals(KeyState.PENDING_IMPORT, await(kms.keys.lookup(key.keyId())).state());
    assertTrue(imports.material(key.keyId()).isEmpty());
    HsmKey object = new HsmKey(key.current().hsmLabel(), key.current().hsmId());
    assertFalse(exists(object));
    await(imports.importKeyMaterial(ROOT, key.keyId(),
        new ImportService.Material(p.importToken(), wrapped, null, future, null, null)));
    assertArrayEquals(new byte[] {7}, decryptOffline(encrypt(key, new byte[] {7}), material));
  }

  @Test
  void expiredToken_isRefused() throws Exception {
    KeyRecord key = external();
    ImportService.Parameters p = parameters(key, "RSAES_OAEP_SHA_1");
    byte[] wrapped = wrap(p.publicKey(), material(32), "SHA-1");
    kms.clock.advance(Duration.ofHours(24).plusSeconds(1));
    try {
      refused(ErrorCode.EXPIRED_IMPORT_TOKEN, () -> await(imports.importKeyMaterial(ROOT, key.keyId(),
          new ImportService.Material(p.importToken(), wrapped, "KEY_MATERIAL_DOES_NOT_EXPIRE", null, null, null))));
    } finally {
      kms.clock.advance(Duration.ofHours(-24).minusSeconds(1));
    }
  }

  @Test
  void reimport_onlyOfTheSameMaterial_andOldCiphertextDecryptsAgain() throws Exception {
    String algorithm = "RSAES_OAEP_SHA_1";
    KeyRecord key = external();
    byte[] material = material(32);
    importInto(key, material, algorithm, "KEY_MATERIAL_DOES_NOT_EXPIRE", null);
    byte[] blob = encrypt(key, "before deletion".getBytes(StandardCharsets.UTF_8));
    // re-import while the material is there: same material yes, other no
    refused(ErrorCode.INCORRECT_KEY_MATERIAL,
        () -> importInto(key, material(32), algorithm, "KEY_MATERIAL_DOES_NOT_EXPIRE", null));
    importInto(key, material, algorithm, "KEY_MATERIAL_DOES_NOT_EXPIRE", null);

    KeyRecord deleted = await(imports.deleteImportedKeyMaterial(ROOT, key.keyId(), null));
    assertEquals(KeyState.PENDING_IMPORT, deleted.state());
    HsmKey object = new HsmKey(key.current().hsmLabel(), key.current().hsmId());
    assertFalse(exists(object));
    refused(ErrorCode.KMS_INVALID_STATE,
        () -> await(kms.crypto.decrypt(ROOT, blob, key.keyId(), Map.of(), null, false, false)));
    // after deletion: other material refused, nothing made; the same material brings the key back
    refused(ErrorCode.INCORRECT_KEY_MATERIAL,
        () -> importInto(key, material(32), algorithm, "KEY_MATERIAL_DOES_NOT_EXPIRE", null));
    assertFalse(exists(object));
    assertEquals(KeyState.PENDING_IMPORT, await(kms.keys.lookup(key.keyId())).state());
    importInto(key, material, algorithm, "KEY_MATERIAL_DOES_NOT_EXPIRE", null);
    assertEquals("before deletion", new String(await(kms.crypto.decrypt(ROOT, blob, key.keyId(), Map.of(), null,
        false, false)).plaintext(), StandardCharsets.UTF_8));
  }

  @Test
  void expiry_byTheLifecycleClock_deletesTheMaterial() throws Exception {
    KeyRecord key = external();
    byte[] material = material(32);
    Instant validTo = kms.clock.instant().plus(Duration.ofDays(2));
    importInto(key, material, "RSAES_OAEP_SHA_1", "KEY_MATERIAL_EXPIRES", validTo);
    assertEquals(validTo, imports.material(key.keyId()).orElseThrow().validTo());
    await(imports.expireDue());
    assertEquals(KeyState.ENABLED, await(kms.keys.lookup(key.keyId())).state());
    kms.clock.advance(Duration.ofDays(3));
    try {
      await(imports.expireDue());
      assertEquals(KeyState.PENDING_IMPORT, await(kms.keys.lookup(key.keyId())).state());
      HsmKey object = new HsmKey(key.current().hsmLabel(), key.current().hsmId());
      assertFalse(exists(object));
      assertEquals(0, imports.wrappingKeys(), "expired and used wrapping keys are gone");
    } finally {
      kms.clock.advance(Duration.ofDays(-3));
    }
  }

  @Test
  void wrappingKeys_doNotPileUp() {
    KeyRecord key = external();
    for (int i = 0; i < ImportService.MAX_PER_KEY + 2; i++) {
      parameters(key, "RSAES_OAEP_SHA_1");
    }
    long mine = await(kms.keyStore.run(ErrorCode.KMS_INTERNAL, null,
        s -> s.findKeys(ImportService.WRAPPING_PREFIX + key.keyId()))).size();
    assertEquals(ImportService.MAX_PER_KEY, mine);
  }

  @Test
  void crashBetweenUnwrapAndMetadataWrite_leavesNothingUsable_reconciliationDestroysTheObject() throws Exception {
    KeyRecord key = external();
    ImportService.Parameters p = parameters(key, "RSAES_OAEP_SHA_1");
    byte[] wrapped = wrap(p.publicKey(), material(32), "SHA-1");
    HsmKey object = new HsmKey(key.current().hsmLabel(), key.current().hsmId());
    // what ImportKeyMaterial does in the HSM, with the process "killed" before the metadata write
    var wrappingKey = new HsmKey(await(kms.keyStore.run(ErrorCode.KMS_INTERNAL, null,
        s -> s.findKeys(ImportService.WRAPPING_PREFIX + key.keyId()))).get(0).label(),
        await(kms.keyStore.run(ErrorCode.KMS_INTERNAL, null,
            s -> s.findKeys(ImportService.WRAPPING_PREFIX + key.keyId()))).get(0).id());
    await(kms.keyStore.run(ErrorCode.KMS_INTERNAL, null, s -> s.unwrapSecretKey(wrappingKey, "SHA-1", false, wrapped,
        KeySpec.SYMMETRIC_DEFAULT, 32, 32, object)));
    assertTrue(exists(object));
    assertEquals(KeyState.PENDING_IMPORT, await(kms.keys.lookup(key.keyId())).state());
    refused(ErrorCode.KMS_INVALID_STATE, () -> encrypt(key, new byte[] {1}));

    // the next start's reconciliation (a new process: its first connection of the store)
    new Reconciler(kms.store, kms.cache, k -> false).reconcile(io.kmsgw.domain.KeyRecord.DEFAULT_KEY_STORE,
        kms.keyStore.hsm(ErrorCode.KMS_INTERNAL));
    assertFalse(exists(object));
    assertEquals(KeyState.PENDING_IMPORT, await(kms.keys.lookup(key.keyId())).state());
  }

  @Test
  void policies_seeTheImportConditionKeys() throws Exception {
    KeyRecord key = external();
    io.kmsgw.domain.Caller importer = new io.kmsgw.domain.Caller("arn:aws:iam::111122223333:user/importer",
        "111122223333", "AIDAimporter", "AKIAimporter", "IAMUser");
    long limit = kms.clock.instant().plus(Duration.ofDays(10)).getEpochSecond();
    kms.iamPolicies.put(importer.arn(), List.of(io.kmsgw.policy.PolicyParser.parse("""
        {"Version":"2012-10-17","Statement":[
          {"Effect":"Allow","Action":"kms:GetParametersForImport","Resource":"*",
           "Condition":{"StringEquals":{"kms:WrappingAlgorithm":"RSAES_OAEP_SHA_1","kms:WrappingKeySpec":"RSA_2048"}}},
          {"Effect":"Allow","Action":"kms:ImportKeyMaterial","Resource":"*",
           "Condition":{"StringEquals":{"kms:ExpirationModel":"KEY_MATERIAL_EXPIRES"},
                        "NumericLessThan":{"kms:ValidTo":"%d"}}}]}""".formatted(limit),
        io.kmsgw.policy.PolicyParser.Kind.IDENTITY)));
    refused(ErrorCode.ACCESS_DENIED,
        () -> await(imports.getParametersForImport(importer, key.keyId(), "RSAES_OAEP_SHA_1", "RSA_3072")));
    ImportService.Parameters p = await(imports.getParametersForImport(importer, key.keyId(), "RSAES_OAEP_SHA_1",
        "RSA_2048"));
    byte[] wrapped = wrap(p.publicKey(), material(32), "SHA-1");
    refused(ErrorCode.ACCESS_DENIED, () -> await(imports.importKeyMaterial(importer, key.keyId(),
        new ImportService.Material(p.importToken(), wrapped, "KEY_MATERIAL_DOES_NOT_EXPIRE", null, null, null))));
    refused(ErrorCode.ACCESS_DENIED, () -> await(imports.importKeyMaterial(importer, key.keyId(),
        new ImportService.Material(p.importToken(), wrapped, null, kms.clock.instant().plus(Duration.ofDays(20)),
            null, null))));
    assertEquals(KeyState.ENABLED, await(imports.importKeyMaterial(importer, key.keyId(), new ImportService.Material(
        p.importToken(), wrapped, null, kms.clock.instant().plus(Duration.ofDays(5)), null, null))).state());
    refused(ErrorCode.ACCESS_DENIED, () -> await(imports.deleteImportedKeyMaterial(importer, key.keyId(), null)));
  }

  @Test
  void importedHmacMaterial_givesTheJdksMac_andOnlyItComesBack() throws Exception {
    MacService macs = new MacService(kms.keys, kms.stores);
    byte[] message = "a message to authenticate".getBytes(StandardCharsets.UTF_8);
    Map<KeySpec, io.kmsgw.domain.Algorithms.Mac> algorithms = Map.of(
        KeySpec.HMAC_224, io.kmsgw.domain.Algorithms.Mac.HMAC_SHA_224,
        KeySpec.HMAC_256, io.kmsgw.domain.Algorithms.Mac.HMAC_SHA_256,
        KeySpec.HMAC_384, io.kmsgw.domain.Algorithms.Mac.HMAC_SHA_384,
        KeySpec.HMAC_512, io.kmsgw.domain.Algorithms.Mac.HMAC_SHA_512);
    for (var e : algorithms.entrySet()) {
      int[] lengths = ImportRules.materialLengths(e.getKey());
      for (int length : new int[] {lengths[0], lengths[1]}) {
        KeyRecord key = await(kms.keys.createKey(ROOT, new KeyService.NewKey("hmac import", e.getKey(),
            KeyUsage.GENERATE_VERIFY_MAC, Origin.EXTERNAL, List.of(), null, false)));
        assertEquals(KeyState.PENDING_IMPORT, key.state());
        byte[] material = material(length);
        importInto(key, material, "RSAES_OAEP_SHA_1", "KEY_MATERIAL_DOES_NOT_EXPIRE", null);
        String jdkName = "Hmac" + e.getValue().name().substring("HMAC_".length()).replace("_", "");
        javax.crypto.Mac jdk = javax.crypto.Mac.getInstance(jdkName);
        jdk.init(new SecretKeySpec(material, jdkName));
        assertArrayEquals(jdk.doFinal(message),
            await(macs.generateMac(ROOT, key.keyId(), message, e.getValue(), false)).mac(), e.getKey() + " " + length);
        if (length == lengths[0]) {
          refused(ErrorCode.INCORRECT_KEY_MATERIAL,
              () -> importInto(key, material(length), "RSAES_OAEP_SHA_1", "KEY_MATERIAL_DOES_NOT_EXPIRE", null));
          importInto(key, material, "RSAES_OAEP_SHA_1", "KEY_MATERIAL_DOES_NOT_EXPIRE", null);
        }
      }
    }
    KeyRecord hmac = await(kms.keys.createKey(ROOT, new KeyService.NewKey("hmac import", KeySpec.HMAC_256,
        KeyUsage.GENERATE_VERIFY_MAC, Origin.EXTERNAL, List.of(), null, false)));
    if (kind == TokenKind.NSS) {
      // too short for AWS's HMAC_256 (32 to 64 bytes); SoftHSM2 does not report an unwrapped key's length
      refused(ErrorCode.INCORRECT_KEY_MATERIAL,
          () -> importInto(hmac, material(16), "RSAES_OAEP_SHA_1", "KEY_MATERIAL_DOES_NOT_EXPIRE", null));
      refused(ErrorCode.INCORRECT_KEY_MATERIAL,
          () -> importInto(hmac, material(65), "RSAES_OAEP_SHA_1", "KEY_MATERIAL_DOES_NOT_EXPIRE", null));
      assertEquals(KeyState.PENDING_IMPORT, await(kms.keys.lookup(hmac.keyId())).state());
    }
    refused(ErrorCode.KMS_INVALID_STATE, () -> await(macs.generateMac(ROOT, hmac.keyId(), message,
        io.kmsgw.domain.Algorithms.Mac.HMAC_SHA_256, false)));
  }

  /**
   * RSA_AES_KEY_WRAP as AWS describes it, made with the JDK: an ephemeral AES-256 key under RSA-OAEP, followed by the
   * material under AES key wrap with padding (RFC 5649, the JDK's {@code AES/KWP/NoPadding}).
   */
  static byte[] wrapRsaAes(byte[] spki, byte[] material, String hash) throws Exception {
    byte[] ephemeral = material(32);
    Cipher kwp = Cipher.getInstance("AES/KWP/NoPadding");
    kwp.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(ephemeral, "AES"));
    byte[] second = kwp.doFinal(material);
    byte[] first = wrap(spki, ephemeral, hash);
    return ByteBuffer.allocate(first.length + second.length).put(first).put(second).array();
  }

  @Test
  void rsaAesKeyWrap_twoStepsInTheHsm_forAesAndHmacMaterial() throws Exception {
    String algorithm = kind == TokenKind.SOFTHSM2 ? "RSA_AES_KEY_WRAP_SHA_1" : "RSA_AES_KEY_WRAP_SHA_256";
    String hash = kind == TokenKind.SOFTHSM2 ? "SHA-1" : "SHA-256";
    KeyRecord key = external();
    byte[] material = material(32);
    ImportService.Parameters p = parameters(key, algorithm);
    byte[] wrapped = wrapRsaAes(p.publicKey(), material, hash);
    byte[] tampered = wrapped.clone();
    tampered[tampered.length - 3] ^= 1; // in the AES key wrap part
    refused(ErrorCode.INVALID_CIPHERTEXT, () -> await(imports.importKeyMaterial(ROOT, key.keyId(),
        new ImportService.Material(p.importToken(), tampered, "KEY_MATERIAL_DOES_NOT_EXPIRE", null, null, null))));
    refused(ErrorCode.INVALID_CIPHERTEXT, () -> await(imports.importKeyMaterial(ROOT, key.keyId(),
        new ImportService.Material(p.importToken(), Arrays.copyOf(wrapped, 256), "KEY_MATERIAL_DOES_NOT_EXPIRE",
            null, null, null))));
    await(imports.importKeyMaterial(ROOT, key.keyId(), new ImportService.Material(p.importToken(), wrapped,
        "KEY_MATERIAL_DOES_NOT_EXPIRE", null, null, null)));
    assertArrayEquals(new byte[] {42}, decryptOffline(encrypt(key, new byte[] {42}), material));

    KeyRecord hmac = await(kms.keys.createKey(ROOT, new KeyService.NewKey("hmac rsa-aes", KeySpec.HMAC_512,
        KeyUsage.GENERATE_VERIFY_MAC, Origin.EXTERNAL, List.of(), null, false)));
    byte[] secret = material(100);
    ImportService.Parameters q = parameters(hmac, algorithm);
    await(imports.importKeyMaterial(ROOT, hmac.keyId(), new ImportService.Material(q.importToken(),
        wrapRsaAes(q.publicKey(), secret, hash), "KEY_MATERIAL_DOES_NOT_EXPIRE", null, null, null)));
    javax.crypto.Mac jdk = javax.crypto.Mac.getInstance("HmacSHA512");
    jdk.init(new SecretKeySpec(secret, "HmacSHA512"));
    byte[] message = {1, 2, 3};
    assertArrayEquals(jdk.doFinal(message), await(new MacService(kms.keys, kms.stores).generateMac(ROOT,
        hmac.keyId(), message, io.kmsgw.domain.Algorithms.Mac.HMAC_SHA_512, false)).mac());
  }
}
