package io.kmsgw.kms;

import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.domain.Origin;
import static io.kmsgw.testing.KmsFixture.ROOT;
import static io.kmsgw.testing.KmsFixture.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeyState;
import io.kmsgw.domain.KeyVersion;
import io.kmsgw.domain.Tag;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.hsm.Hsm;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.hsm.KeyCustody;
import io.kmsgw.testing.KmsFixture;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** CreateKey, DescribeKey and ListKeys through the operations layer on a fresh SoftHSM2 token and H2 store. */
class KeyServiceTest {
  private static KmsFixture kms;

  @BeforeAll
  static void setUp() {
    kms = new KmsFixture("keys");
  }

  @AfterAll
  static void tearDown() {
    kms.close();
  }

  private static KeyService.NewKey spec(KeySpec keySpec, KeyUsage usage, Origin origin, List<Tag> tags) {
    return new KeyService.NewKey("d", keySpec, usage, origin, tags, null, false);
  }

  private static void assertFails(ErrorCode code, Supplier<?> call) {
    KmsException e = assertThrows(KmsException.class, call::get);
    assertEquals(code, e.code(), e.getMessage());
  }

  @Test
  void createKey_storesEnabledMetadataWithOneVersion() {
    KeyRecord k = kms.newKey();
    assertEquals(KeyState.ENABLED, k.state());
    assertEquals(1, k.currentVersion());
    assertEquals("arn:aws:kms:us-east-1:111122223333:key/" + k.keyId(), k.arn());
    KeyRecord stored = kms.store.findKey(k.keyId()).orElseThrow();
    assertEquals(KeyState.ENABLED, stored.state());
    assertEquals(k.versions(), stored.versions());
    assertEquals(k, await(kms.keys.lookup(k.keyId())));
  }

  @Test
  void everyKeyObjectTheGatewayCreates_isSensitiveAndNeverExtractable() throws HsmException {
    for (int i = 0; i < 3; i++) {
      kms.newKey();
    }
    Hsm hsm = kms.keyStore.hsm(ErrorCode.KMS_INTERNAL);
    List<HsmKey> objects = hsm.withSession(s -> s.findKeys(HsmLabels.PREFIX));
    assertTrue(objects.size() >= 3, objects.toString());
    for (HsmKey o : objects) {
      KeyCustody c = hsm.withSession(s -> s.custody(o));
      assertTrue(c.sensitive(), o + " " + c);
      assertTrue(c.alwaysSensitive(), o + " " + c);
      assertTrue(c.neverExtractable(), o + " " + c);
      assertTrue(!c.extractable(), o + " " + c);
      assertTrue(c.token() && c.privateObject(), o + " " + c);
    }
  }

  @Test
  void createKey_hsmObjectIsNamedByKeyIdAndVersion() throws HsmException {
    KeyRecord k = kms.newKey();
    KeyVersion v = k.current();
    assertEquals(HsmLabels.label(k.keyId(), 1), v.hsmLabel());
    boolean exists = kms.keyStore.hsm(ErrorCode.KMS_INTERNAL)
        .withSession(s -> s.exists(new HsmKey(v.hsmLabel(), v.hsmId())));
    assertTrue(exists);
  }

  @Test
  void createKey_withTags_keepsThemInOrder() {
    List<Tag> tags = List.of(new Tag("b", "2"), new Tag("a", ""));
    KeyRecord k = await(kms.keys.createKey(ROOT, spec(KeySpec.SYMMETRIC_DEFAULT, KeyUsage.ENCRYPT_DECRYPT, Origin.AWS_KMS, tags)));
    assertEquals(tags, kms.store.findKey(k.keyId()).orElseThrow().tags());
  }

  @Test
  void createKey_withReservedOrDuplicateTags_failsTagException_andCreatesNothing() {
    int before = kms.store.allKeys().size();
    assertFails(ErrorCode.TAG, () -> kms.keys.createKey(ROOT,
        spec(KeySpec.SYMMETRIC_DEFAULT, KeyUsage.ENCRYPT_DECRYPT, Origin.AWS_KMS, List.of(new Tag("aws:x", "1")))));
    assertFails(ErrorCode.TAG, () -> kms.keys.createKey(ROOT, spec(KeySpec.SYMMETRIC_DEFAULT, KeyUsage.ENCRYPT_DECRYPT,
        Origin.AWS_KMS, List.of(new Tag("a", "1"), new Tag("a", "2")))));
    List<Tag> many = new ArrayList<>();
    for (int i = 0; i < 51; i++) {
      many.add(new Tag("t" + i, ""));
    }
    assertFails(ErrorCode.LIMIT_EXCEEDED,
        () -> kms.keys.createKey(ROOT, spec(KeySpec.SYMMETRIC_DEFAULT, KeyUsage.ENCRYPT_DECRYPT, Origin.AWS_KMS, many)));
    assertEquals(before, kms.store.allKeys().size());
  }

  @Test
  void createKey_withSpecOrOriginNotYetSupported_failsUnsupportedOperation() {
    assertFails(ErrorCode.UNSUPPORTED_OPERATION,
        () -> kms.keys.createKey(ROOT, spec(KeySpec.ML_DSA_65, KeyUsage.SIGN_VERIFY, Origin.AWS_KMS, List.of())));
    assertFails(ErrorCode.UNSUPPORTED_OPERATION,
        () -> kms.keys.createKey(ROOT, spec(KeySpec.ECC_NIST_EDWARDS25519, KeyUsage.SIGN_VERIFY, Origin.EXTERNAL,
            List.of())));
    assertFails(ErrorCode.UNSUPPORTED_OPERATION,
        () -> kms.keys.createKey(ROOT, spec(KeySpec.SYMMETRIC_DEFAULT, KeyUsage.ENCRYPT_DECRYPT,
            Origin.EXTERNAL_KEY_STORE, List.of())));
  }

  @Test
  void createKey_withUsageIncompatibleWithSpec_failsValidation_namingTheUsagesTheSpecTakes() {
    int before = kms.store.allKeys().size();
    assertFails(ErrorCode.VALIDATION,
        () -> kms.keys.createKey(ROOT, spec(KeySpec.SYMMETRIC_DEFAULT, KeyUsage.SIGN_VERIFY, Origin.AWS_KMS, List.of())));
    // an HMAC key needs its usage named: the default, ENCRYPT_DECRYPT, is not one of HMAC's
    KmsException hmac = assertThrows(KmsException.class, () -> kms.keys.createKey(ROOT,
        spec(KeySpec.HMAC_256, KeyUsage.ENCRYPT_DECRYPT, Origin.AWS_KMS, List.of())));
    assertEquals(ErrorCode.VALIDATION, hmac.code());
    assertTrue(hmac.getMessage().contains("use GENERATE_VERIFY_MAC"), hmac.getMessage());
    // secp256k1 signs but does not agree keys in AWS KMS
    assertFails(ErrorCode.VALIDATION, () -> kms.keys.createKey(ROOT,
        spec(KeySpec.ECC_SECG_P256K1, KeyUsage.KEY_AGREEMENT, Origin.AWS_KMS, List.of())));
    assertEquals(before, kms.store.allKeys().size());
  }

  @Test
  void createKey_sm2AndMlDsa_failUnsupportedOperation_sayingWhy() {
    for (KeySpec spec : List.of(KeySpec.SM2, KeySpec.ML_DSA_65)) {
      KmsException e = assertThrows(KmsException.class, () -> kms.keys.createKey(ROOT,
          spec(spec, KeyUsage.SIGN_VERIFY, Origin.AWS_KMS, List.of())));
      assertEquals(ErrorCode.UNSUPPORTED_OPERATION, e.code());
      assertTrue(e.getMessage().contains("PKCS#11"), e.getMessage());
    }
  }

  @Test
  void createKey_inUnknownCustomKeyStore_failsCustomKeyStoreNotFound() {
    assertFails(ErrorCode.CUSTOM_KEY_STORE_NOT_FOUND, () -> kms.keys.createKey(ROOT,
        new KeyService.NewKey("", KeySpec.SYMMETRIC_DEFAULT, KeyUsage.ENCRYPT_DECRYPT, Origin.AWS_CLOUDHSM, List.of(), "cks-1234567890",
            false)));
  }

  @Test
  void lookup_unknownKey_failsNotFound() {
    assertFails(ErrorCode.NOT_FOUND, () -> await(kms.keys.lookup(UUID.randomUUID())));
  }

  @Test
  void listKeys_pagesThroughEveryKeyOnce() {
    for (int i = 0; i < 5; i++) {
      kms.newKey();
    }
    Set<UUID> all = new HashSet<>();
    kms.store.allKeys().forEach(k -> all.add(k.keyId()));
    Set<UUID> seen = new HashSet<>();
    String marker = null;
    int pages = 0;
    do {
      KeyService.Page page = await(kms.keys.listKeys(ROOT, marker, 2));
      assertTrue(page.keys().size() <= 2);
      page.keys().forEach(k -> assertTrue(seen.add(k.keyId()), "seen twice: " + k.keyId()));
      marker = page.nextMarker();
      pages++;
    } while (marker != null);
    assertEquals(all, seen);
    assertTrue(pages >= 3);
  }

  @Test
  void listKeys_lastPage_hasNoMarker() {
    KeyService.Page page = await(kms.keys.listKeys(ROOT, null, 1000));
    assertNull(page.nextMarker());
  }

  @Test
  void listKeys_withForgedMarker_failsInvalidMarker() {
    assertFails(ErrorCode.INVALID_MARKER, () -> kms.keys.listKeys(ROOT, "garbage!", 10));
    assertFails(ErrorCode.INVALID_MARKER, () -> kms.keys.listKeys(ROOT,
        java.util.Base64.getUrlEncoder().encodeToString("k1:'; DROP TABLE kms_key; --".getBytes()), 10));
  }
}
