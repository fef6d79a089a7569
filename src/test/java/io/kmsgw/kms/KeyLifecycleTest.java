package io.kmsgw.kms;

import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.domain.Origin;
import static io.kmsgw.testing.KmsFixture.ROOT;
import static io.kmsgw.testing.KmsFixture.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeyState;
import io.kmsgw.domain.KeyVersion;
import io.kmsgw.domain.Tag;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.format.CiphertextBlob;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.testing.KmsFixture;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A key's life on a real SoftHSM2 token, with the lifecycle clock moved by hand instead of waiting. */
class KeyLifecycleTest {
  private static KmsFixture kms;

  @BeforeAll
  static void setUp() {
    kms = new KmsFixture("lifecycle");
  }

  @AfterAll
  static void tearDown() {
    kms.close();
  }

  private static void assertFails(ErrorCode code, Supplier<?> call) {
    KmsException e = assertThrows(KmsException.class, call::get);
    assertEquals(code, e.code(), e.getMessage());
  }

  private static byte[] encrypt(KeyRecord k, String text) {
    return await(kms.crypto.encrypt(ROOT, k.keyId(), text.getBytes(), Map.of("c", "1"), null, false)).ciphertextBlob();
  }

  private static String decrypt(byte[] blob) {
    return new String(await(kms.crypto.decrypt(ROOT, blob, null, Map.of("c", "1"), null, false, false)).plaintext());
  }

  private static boolean inHsm(KeyVersion v) throws HsmException {
    return kms.keyStore.hsm(ErrorCode.KMS_INTERNAL).withSession(s -> s.exists(new HsmKey(v.hsmLabel(), v.hsmId())));
  }

  @Test
  void disable_refusesCryptoWithDisabledException_andEnableRestoresIt() {
    KeyRecord k = kms.newKey();
    byte[] blob = encrypt(k, "before");
    await(kms.lifecycle.disableKey(ROOT, k.keyId()));
    assertEquals(KeyState.DISABLED, await(kms.keys.lookup(k.keyId())).state());
    assertFails(ErrorCode.DISABLED, () -> encrypt(k, "x"));
    assertFails(ErrorCode.DISABLED, () -> decrypt(blob));
    await(kms.lifecycle.disableKey(ROOT, k.keyId())); // disabling a disabled key is not an error
    await(kms.lifecycle.enableKey(ROOT, k.keyId()));
    assertEquals("before", decrypt(blob));
  }

  @Test
  void rotateOnDemandTwice_keepsOldVersionsAndEncryptsWithTheNewest() throws HsmException {
    KeyRecord k = kms.newKey();
    byte[] old = encrypt(k, "written under version 1");
    await(kms.lifecycle.rotateOnDemand(ROOT, k.keyId()));
    KeyRecord twice = await(kms.lifecycle.rotateOnDemand(ROOT, k.keyId()));
    assertEquals(3, twice.currentVersion());
    assertEquals(List.of(1, 2, 3), twice.versions().stream().map(KeyVersion::version).toList());
    assertEquals("ON_DEMAND", twice.current().rotationType());
    for (KeyVersion v : twice.versions()) {
      assertTrue(inHsm(v), "every version stays in the HSM: " + v.hsmLabel());
    }
    byte[] fresh = encrypt(k, "written under version 3");
    assertEquals(3, CiphertextBlob.parse(fresh).keyVersion());
    assertEquals(1, CiphertextBlob.parse(old).keyVersion());
    assertEquals("written under version 1", decrypt(old));
    assertEquals("written under version 3", decrypt(fresh));

    byte[] moved = await(kms.crypto.reEncrypt(ROOT, old, null, Map.of("c", "1"), null, k.keyId(), Map.of("c", "2"),
        null, false)).ciphertextBlob();
    assertEquals(3, CiphertextBlob.parse(moved).keyVersion(), "ReEncrypt moves an old blob to the newest version");
    assertEquals("written under version 1",
        new String(await(kms.crypto.decrypt(ROOT, moved, null, Map.of("c", "2"), null, false, false)).plaintext()));
  }

  @Test
  void rotateOnDemand_isLimitedToTenPerKey() {
    KeyRecord k = kms.newKey();
    for (int i = 0; i < KeyLifecycle.MAX_ON_DEMAND_ROTATIONS; i++) {
      await(kms.lifecycle.rotateOnDemand(ROOT, k.keyId()));
    }
    assertFails(ErrorCode.LIMIT_EXCEEDED, () -> await(kms.lifecycle.rotateOnDemand(ROOT, k.keyId())));
  }

  @Test
  void automaticRotation_happensOncePerPeriod() {
    KeyRecord k = kms.newKey();
    KeyRecord enabled = await(kms.lifecycle.enableRotation(ROOT, k.keyId(), 90));
    assertTrue(enabled.rotation().enabled());
    await(kms.lifecycle.runDueTasks());
    assertEquals(1, await(kms.keys.lookup(k.keyId())).currentVersion(), "not before its date");
    kms.clock.advance(Duration.ofDays(91));
    await(kms.lifecycle.runDueTasks());
    await(kms.lifecycle.runDueTasks());
    KeyRecord rotated = await(kms.keys.lookup(k.keyId()));
    assertEquals(2, rotated.currentVersion(), "one rotation for the period, however often the scheduler runs");
    assertEquals("AUTOMATIC", rotated.current().rotationType());
    assertTrue(rotated.rotation().nextRotation().isAfter(kms.clock.instant().plus(Duration.ofDays(89))));
    // the date survives a restart: it is in the store
    assertEquals(rotated.rotation(), kms.store.findKey(k.keyId()).orElseThrow().rotation());
    await(kms.lifecycle.disableRotation(ROOT, k.keyId()));
    kms.clock.advance(Duration.ofDays(200));
    await(kms.lifecycle.runDueTasks());
    assertEquals(2, await(kms.keys.lookup(k.keyId())).currentVersion(), "no rotation once disabled");
  }

  @Test
  void rotationSettings_onADisabledKey_failDisabled() {
    KeyRecord k = kms.newKey();
    await(kms.lifecycle.disableKey(ROOT, k.keyId()));
    assertFails(ErrorCode.DISABLED, () -> await(kms.lifecycle.enableRotation(ROOT, k.keyId(), null)));
    assertFails(ErrorCode.DISABLED, () -> await(kms.lifecycle.rotateOnDemand(ROOT, k.keyId())));
  }

  @Test
  void scheduleDeletion_refusesCrypto_cancelGoesBackToDisabled() {
    KeyRecord k = kms.newKey();
    byte[] blob = encrypt(k, "keep me");
    KeyRecord pending = await(kms.lifecycle.scheduleDeletion(ROOT, k.keyId(), 7));
    assertEquals(KeyState.PENDING_DELETION, pending.state());
    assertEquals(7, pending.pendingWindowDays());
    assertFails(ErrorCode.KMS_INVALID_STATE, () -> decrypt(blob));
    assertFails(ErrorCode.KMS_INVALID_STATE, () -> await(kms.lifecycle.enableKey(ROOT, k.keyId())));
    assertFails(ErrorCode.KMS_INVALID_STATE, () -> await(kms.lifecycle.scheduleDeletion(ROOT, k.keyId(), 7)));
    KeyRecord cancelled = await(kms.lifecycle.cancelDeletion(ROOT, k.keyId()));
    assertEquals(KeyState.DISABLED, cancelled.state());
    assertNull(cancelled.deletionDate());
    assertFails(ErrorCode.KMS_INVALID_STATE, () -> await(kms.lifecycle.cancelDeletion(ROOT, k.keyId())));
    await(kms.lifecycle.enableKey(ROOT, k.keyId()));
    assertEquals("keep me", decrypt(blob));
  }

  @Test
  void scheduleDeletion_outsideSevenToThirtyDays_failsValidationAndChangesNothing() {
    KeyRecord k = kms.newKey();
    assertFails(ErrorCode.VALIDATION, () -> kms.lifecycle.scheduleDeletion(ROOT, k.keyId(), 6));
    assertFails(ErrorCode.VALIDATION, () -> kms.lifecycle.scheduleDeletion(ROOT, k.keyId(), 31));
    assertEquals(KeyState.ENABLED, kms.store.findKey(k.keyId()).orElseThrow().state());
  }

  @Test
  void deletion_destroysEveryVersionInTheHsmWhenTheWindowEnds_notBefore() throws HsmException {
    KeyRecord k = kms.newKey();
    await(kms.lifecycle.rotateOnDemand(ROOT, k.keyId()));
    await(kms.aliases.create(ROOT, "alias/doomed", k.keyId()));
    KeyRecord pending = await(kms.lifecycle.scheduleDeletion(ROOT, k.keyId(), 7));
    kms.clock.advance(Duration.ofDays(6));
    await(kms.lifecycle.runDueTasks());
    for (KeyVersion v : pending.versions()) {
      assertTrue(inHsm(v), "nothing is destroyed before its date");
    }
    kms.clock.advance(Duration.ofDays(2));
    await(kms.lifecycle.runDueTasks());
    for (KeyVersion v : pending.versions()) {
      assertFalse(inHsm(v), "destroyed: " + v.hsmLabel());
    }
    assertTrue(kms.store.findKey(k.keyId()).isEmpty());
    assertFails(ErrorCode.NOT_FOUND, () -> await(kms.keys.lookup(k.keyId())));
    assertFails(ErrorCode.NOT_FOUND, () -> kms.aliases.resolve("alias/doomed"));
    assertTrue(kms.store.findAlias(KmsFixture.SETTINGS.accountId(), "alias/doomed").isEmpty());
  }

  @Test
  void deletionOfAKeyPairOrAnHmacKey_destroysEveryObjectOfIt_asTheTokenTellsAnOutsideProgram() throws Exception {
    List<KeyRecord> doomed = new ArrayList<>();
    for (KeySpec spec : List.of(KeySpec.RSA_2048, KeySpec.ECC_NIST_P256, KeySpec.HMAC_256)) {
      KeyUsage usage = spec == KeySpec.HMAC_256 ? KeyUsage.GENERATE_VERIFY_MAC : KeyUsage.SIGN_VERIFY;
      KeyRecord k = await(kms.keys.createKey(ROOT, new io.kmsgw.kms.KeyService.NewKey("doomed", spec, usage,
          Origin.AWS_KMS, List.of(), null, false)));
      assertEquals(spec.asymmetric() ? 2 : 1,
          io.kmsgw.testing.CustodyCheck.objects(kms.token, k.current().hsmLabel()).size(), spec.toString());
      doomed.add(await(kms.lifecycle.scheduleDeletion(ROOT, k.keyId(), 7)));
    }
    kms.clock.advance(Duration.ofDays(8));
    await(kms.lifecycle.runDueTasks());
    for (KeyRecord k : doomed) {
      assertTrue(io.kmsgw.testing.CustodyCheck.objects(kms.token, k.current().hsmLabel()).isEmpty(),
          k.keySpec() + ": both halves of a pair, or the secret key, are gone");
      assertTrue(kms.store.findKey(k.keyId()).isEmpty());
    }
  }

  @Test
  void deletionInterruptedAfterTheHsmObjectsWent_isFinishedAtTheNextRun() throws HsmException {
    KeyRecord k = kms.newKey();
    KeyRecord pending = await(kms.lifecycle.scheduleDeletion(ROOT, k.keyId(), 7));
    // the crash: objects destroyed, metadata not yet deleted
    for (KeyVersion v : pending.versions()) {
      kms.keyStore.hsm(ErrorCode.KMS_INTERNAL).withSession(s -> {
        s.destroy(new HsmKey(v.hsmLabel(), v.hsmId()));
        return null;
      });
    }
    kms.clock.advance(Duration.ofDays(8));
    await(kms.lifecycle.runDueTasks());
    assertTrue(kms.store.findKey(k.keyId()).isEmpty());
  }

  @Test
  void tags_addReplaceRemoveAndLimits() {
    KeyRecord k = kms.newKey();
    await(kms.lifecycle.tag(ROOT, k.keyId(), List.of(new Tag("team", "a"), new Tag("env", "dev"))));
    KeyRecord t = await(kms.lifecycle.tag(ROOT, k.keyId(), List.of(new Tag("team", "b"))));
    assertEquals(List.of(new Tag("team", "b"), new Tag("env", "dev")), t.tags());
    t = await(kms.lifecycle.untag(ROOT, k.keyId(), List.of("env", "absent")));
    assertEquals(List.of(new Tag("team", "b")), t.tags());
    assertEquals(t.tags(), kms.store.findKey(k.keyId()).orElseThrow().tags());
    assertFails(ErrorCode.TAG, () -> kms.lifecycle.tag(ROOT, k.keyId(), List.of(new Tag("aws:x", "1"))));
    List<Tag> many = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      many.add(new Tag("k" + i, ""));
    }
    assertFails(ErrorCode.LIMIT_EXCEEDED, () -> await(kms.lifecycle.tag(ROOT, k.keyId(), many)));
    assertEquals(1, kms.store.findKey(k.keyId()).orElseThrow().tags().size(), "a refused request changes nothing");
  }

  @Test
  void aliases_createResolveRepointDelete() {
    KeyRecord a = kms.newKey();
    KeyRecord b = kms.newKey();
    await(kms.aliases.create(ROOT, "alias/app", a.keyId()));
    assertEquals(a.keyId(), kms.aliases.resolve("alias/app"));
    assertFails(ErrorCode.ALREADY_EXISTS, () -> await(kms.aliases.create(ROOT, "alias/app", b.keyId())));
    assertFails(ErrorCode.INVALID_ALIAS_NAME, () -> kms.aliases.create(ROOT, "alias/aws/s3", a.keyId()));
    assertFails(ErrorCode.INVALID_ALIAS_NAME, () -> kms.aliases.create(ROOT, "app", a.keyId()));
    byte[] blob = await(kms.crypto.encrypt(ROOT, kms.aliases.resolve("alias/app"), new byte[] {7}, null, null, false))
        .ciphertextBlob();
    await(kms.aliases.update(ROOT, "alias/app", b.keyId()));
    assertEquals(b.keyId(), kms.aliases.resolve("alias/app"));
    assertEquals(1, await(kms.crypto.decrypt(ROOT, blob, null, null, null, false, false)).plaintext().length,
        "the blob names its key, not the alias");
    AliasService.Page page = await(kms.aliases.list(ROOT, b.keyId(), null, 50));
    assertEquals(List.of("alias/app"), page.aliases().stream().map(x -> x.name()).toList());
    await(kms.aliases.delete(ROOT, "alias/app"));
    assertFails(ErrorCode.NOT_FOUND, () -> kms.aliases.resolve("alias/app"));
    assertFails(ErrorCode.NOT_FOUND, () -> await(kms.aliases.delete(ROOT, "alias/app")));
  }

  private static KeyRecord create(KeySpec spec, KeyUsage usage) {
    return await(kms.keys.createKey(ROOT, new KeyService.NewKey("alias target", spec, usage, Origin.AWS_KMS,
        List.of(), null, false)));
  }

  /**
   * AWS's UpdateAlias: the new key must be of the same type (symmetric encryption, asymmetric, HMAC) and usage; its
   * key spec may differ.
   */
  @Test
  void updateAlias_takesAKeyOfTheSameTypeAndUsage_whateverItsSpec() {
    KeyRecord p256 = create(KeySpec.ECC_NIST_P256, KeyUsage.SIGN_VERIFY);
    await(kms.aliases.create(ROOT, "alias/signer", p256.keyId()));
    KeyRecord rsaSigner = create(KeySpec.RSA_2048, KeyUsage.SIGN_VERIFY);
    await(kms.aliases.update(ROOT, "alias/signer", rsaSigner.keyId()));
    assertEquals(rsaSigner.keyId(), kms.aliases.resolve("alias/signer"));
    assertFails(ErrorCode.VALIDATION, () -> await(kms.aliases.update(ROOT, "alias/signer",
        create(KeySpec.RSA_2048, KeyUsage.ENCRYPT_DECRYPT).keyId())));
    assertFails(ErrorCode.VALIDATION, () -> await(kms.aliases.update(ROOT, "alias/signer",
        create(KeySpec.ECC_NIST_P256, KeyUsage.KEY_AGREEMENT).keyId())));

    await(kms.aliases.create(ROOT, "alias/mac", create(KeySpec.HMAC_256, KeyUsage.GENERATE_VERIFY_MAC).keyId()));
    KeyRecord hmac512 = create(KeySpec.HMAC_512, KeyUsage.GENERATE_VERIFY_MAC);
    await(kms.aliases.update(ROOT, "alias/mac", hmac512.keyId()));
    assertEquals(hmac512.keyId(), kms.aliases.resolve("alias/mac"));

    // an RSA encryption key is asymmetric: it does not replace a symmetric encryption key of the same usage
    await(kms.aliases.create(ROOT, "alias/data", kms.newKey().keyId()));
    assertFails(ErrorCode.VALIDATION, () -> await(kms.aliases.update(ROOT, "alias/data",
        create(KeySpec.RSA_3072, KeyUsage.ENCRYPT_DECRYPT).keyId())));
    assertFails(ErrorCode.VALIDATION, () -> await(kms.aliases.update(ROOT, "alias/data", hmac512.keyId())));
  }

  @Test
  void alias_cannotPointAtAKeyPendingDeletion() {
    KeyRecord a = kms.newKey();
    KeyRecord b = kms.newKey();
    await(kms.aliases.create(ROOT, "alias/moving", a.keyId()));
    await(kms.lifecycle.scheduleDeletion(ROOT, b.keyId(), 30));
    assertFails(ErrorCode.KMS_INVALID_STATE, () -> await(kms.aliases.update(ROOT, "alias/moving", b.keyId())));
    assertFails(ErrorCode.KMS_INVALID_STATE, () -> await(kms.aliases.create(ROOT, "alias/other", b.keyId())));
  }

  @Test
  void quota_countsKeysPendingDeletion() throws Exception {
    try (KmsFixture small = new KmsFixture("quota")) {
      KeyService limited = new KeyService(KmsFixture.SETTINGS, small.store, small.cache, small.stores,
          small.storeExecutor, small.clock, 2, small.authz);
      KeyService.NewKey spec = new KeyService.NewKey("", KeySpec.SYMMETRIC_DEFAULT, KeyUsage.ENCRYPT_DECRYPT, Origin.AWS_KMS, List.of(),
          null, false);
      KeyRecord first = await(limited.createKey(ROOT, spec));
      await(limited.createKey(ROOT, spec));
      await(small.lifecycle.scheduleDeletion(ROOT, first.keyId(), 7));
      KmsException e = assertThrows(KmsException.class, () -> await(limited.createKey(ROOT, spec)));
      assertEquals(ErrorCode.LIMIT_EXCEEDED, e.code());
      assertEquals(2, small.store.countKeys(KmsFixture.SETTINGS.accountId()));
    }
  }

  @Test
  void reEncrypt_toAnotherKeyWithNewContext_andWrongSourceContextFails() {
    KeyRecord a = kms.newKey();
    KeyRecord b = kms.newKey();
    byte[] blob = encrypt(a, "moving house");
    byte[] moved = await(kms.crypto.reEncrypt(ROOT, blob, a.keyId(), Map.of("c", "1"), null, b.keyId(),
        Map.of("new", "ctx"), null, false)).ciphertextBlob();
    assertEquals(b.keyId(), CiphertextBlob.parse(moved).keyId());
    assertArrayEquals("moving house".getBytes(),
        await(kms.crypto.decrypt(ROOT, moved, b.keyId(), Map.of("new", "ctx"), null, false, false)).plaintext());
    assertFails(ErrorCode.INVALID_CIPHERTEXT, () -> await(kms.crypto.reEncrypt(ROOT, blob, null, Map.of("c", "2"),
        null, b.keyId(), null, null, false)));
    assertFails(ErrorCode.INCORRECT_KEY, () -> await(kms.crypto.reEncrypt(ROOT, blob, b.keyId(), Map.of("c", "1"),
        null, b.keyId(), null, null, false)));
    await(kms.lifecycle.disableKey(ROOT, b.keyId()));
    assertFails(ErrorCode.DISABLED, () -> await(kms.crypto.reEncrypt(ROOT, blob, null, Map.of("c", "1"), null,
        b.keyId(), null, null, false)));
  }
}
