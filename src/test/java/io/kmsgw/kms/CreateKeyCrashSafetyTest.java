package io.kmsgw.kms;

import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.domain.Origin;
import static io.kmsgw.testing.KmsFixture.ROOT;
import static io.kmsgw.testing.KmsFixture.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeyState;
import io.kmsgw.domain.KeyVersion;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.hsm.Hsm;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.store.MetadataStore;
import io.kmsgw.store.StoreException;
import io.kmsgw.testing.KmsFixture;
import io.kmsgw.testing.OnEveryToken;
import io.kmsgw.testing.TokenKind;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;

/**
 * What a crash between the HSM write and the metadata write leaves behind, and how the next start cleans it up:
 * no key the API reports as usable is lost, and none that is unusable is shown.
 */
@OnEveryToken
class CreateKeyCrashSafetyTest {
  private static KmsFixture kms;

  /** Injected so that the class declares its parameter, which the set-up method then receives. */
  @Parameter
  TokenKind kind;

  @BeforeParameterizedClassInvocation
  static void setUp(TokenKind kind) {
    kms = new KmsFixture(kind, "crash");
  }

  @AfterParameterizedClassInvocation
  static void tearDown() {
    kms.close();
  }

  private static Hsm hsm() {
    return kms.keyStore.hsm(ErrorCode.KMS_INTERNAL);
  }

  /** A Creating row as CreateKey commits it before touching the HSM, dated before "this process" started. */
  private static KeyRecord creatingRow(Instant createdAt) {
    UUID id = UUID.randomUUID();
    KeyRecord k = new KeyRecord(id, "111122223333", "us-east-1", createdAt, "", KeyState.CREATING, KeyUsage.ENCRYPT_DECRYPT,
        KeySpec.SYMMETRIC_DEFAULT, Origin.AWS_KMS, KeyRecord.DEFAULT_KEY_STORE, 1, null, 0,
        io.kmsgw.domain.KeyRotation.DISABLED,
        List.of(new KeyVersion(1, HsmLabels.label(id, 1), HsmLabels.id(id, 1), createdAt, null)), List.of());
    kms.store.insertKey(k);
    return k;
  }

  private static HsmKey object(KeyRecord k) {
    KeyVersion v = k.current();
    return new HsmKey(v.hsmLabel(), v.hsmId());
  }

  private static boolean exists(HsmKey o) throws HsmException {
    return hsm().withSession(s -> s.exists(o));
  }

  @Test
  void reconcile_afterCrashes_rollsBackUnfinishedCreatesAndReportsTheRest() throws HsmException {
    Instant before = Instant.now().minus(1, ChronoUnit.MINUTES);
    // crashed after the HSM write, before the metadata was marked Enabled
    KeyRecord afterHsmWrite = creatingRow(before);
    hsm().withSession(s -> s.generateAes256Key(object(afterHsmWrite).label(), object(afterHsmWrite).id()));
    // crashed before the HSM write
    KeyRecord beforeHsmWrite = creatingRow(before);
    // a finished key whose material went missing (restored token backup, operator error)
    KeyRecord lostMaterial = kms.newKey();
    hsm().withSession(s -> {
      s.destroy(object(lostMaterial));
      return null;
    });
    // an object without metadata
    UUID orphanId = UUID.randomUUID();
    HsmKey orphan = hsm().withSession(s -> s.generateAes256Key(HsmLabels.label(orphanId, 1), HsmLabels.id(orphanId, 1)));
    KeyRecord healthy = kms.newKey();

    Reconciler.Report report = new Reconciler(kms.store, kms.cache, Instant.now()).reconcile("default", hsm());

    assertTrue(report.rolledBack() >= 2, report.toString());
    assertTrue(report.missingMaterial() >= 1);
    assertTrue(report.orphans() >= 1);
    assertFalse(exists(object(afterHsmWrite)), "the half-created key's object is destroyed");
    assertTrue(kms.store.findKey(afterHsmWrite.keyId()).isEmpty());
    assertTrue(kms.store.findKey(beforeHsmWrite.keyId()).isEmpty());
    assertTrue(exists(orphan), "an object without metadata is never destroyed on a guess");
    assertEquals(KeyState.ENABLED, kms.store.findKey(lostMaterial.keyId()).orElseThrow().state(),
        "a key with missing material is reported, not deleted");
    assertTrue(exists(object(healthy)));
    byte[] blob = await(kms.crypto.encrypt(ROOT, healthy.keyId(), new byte[] {1}, null, null, false)).ciphertextBlob();
    assertEquals(1, await(kms.crypto.decrypt(ROOT, blob, null, null, null, false, false)).plaintext().length);
  }

  @Test
  void reconcile_knowsKeyPairs_destroyingBothHalvesOfAnUnfinishedCreate_andFindingFinishedOnesPresent()
      throws Exception {
    Instant before = Instant.now().minus(1, ChronoUnit.MINUTES);
    KeyRecord row = creatingRow(before);
    HsmKey pair = object(row);
    hsm().withSession(s -> s.generateKeyPair(KeySpec.ECC_NIST_P256, KeyUsage.SIGN_VERIFY, pair.label(), pair.id()));
    assertEquals(2, io.kmsgw.testing.CustodyCheck.objects(kms.token, pair.label()).size(), "both halves made");
    KeyRecord finished = await(kms.keys.createKey(ROOT, new KeyService.NewKey("pair", KeySpec.ECC_NIST_P384,
        KeyUsage.SIGN_VERIFY, Origin.AWS_KMS, List.of(), null, false)));
    HsmKey hmac = hsm().withSession(s -> s.generateHmacKey(KeySpec.HMAC_256, HsmLabels.label(UUID.randomUUID(), 1),
        new byte[] {1}));

    Reconciler.Report report = new Reconciler(kms.store, kms.cache, Instant.now()).reconcile("default", hsm());

    assertTrue(report.rolledBack() >= 1, report.toString());
    assertTrue(io.kmsgw.testing.CustodyCheck.objects(kms.token, pair.label()).isEmpty(),
        "both halves of the unfinished create are destroyed");
    assertTrue(kms.store.findKey(row.keyId()).isEmpty());
    assertTrue(hsm().withSession(s -> s.findKeys(HsmLabels.PREFIX)).containsAll(List.of(object(finished), hmac)),
        "a pair and an HMAC key are listed as keys, the pair once");
    assertEquals(2, io.kmsgw.testing.CustodyCheck.objects(kms.token, object(finished).label()).size());
  }

  @Test
  void reconcile_leavesCreatesOfThisProcessAlone() throws HsmException {
    KeyRecord inFlight = creatingRow(Instant.now().plus(1, ChronoUnit.SECONDS));
    new Reconciler(kms.store, kms.cache, Instant.now()).reconcile("default", hsm());
    assertTrue(kms.store.findKey(inFlight.keyId()).isPresent());
  }

  @Test
  void reconcile_rollsBackACreateStampedAheadByTheDevelopmentClock_unlessThisProcessIsMakingIt() throws HsmException {
    // killed under a lifecycle clock 40 days ahead: its creation time is after this process's start
    KeyRecord killed = creatingRow(Instant.now().plus(40, ChronoUnit.DAYS));
    hsm().withSession(s -> s.generateAes256Key(object(killed).label(), object(killed).id()));
    KeyRecord mine = creatingRow(Instant.now().plus(40, ChronoUnit.DAYS));
    new Reconciler(kms.store, kms.cache, k -> k.keyId().equals(mine.keyId())).reconcile("default", hsm());
    assertTrue(kms.store.findKey(killed.keyId()).isEmpty(), "the killed CreateKey is rolled back");
    assertFalse(exists(object(killed)), "and its token object destroyed");
    assertTrue(kms.store.findKey(mine.keyId()).isPresent(), "a creation in flight here is left alone");
  }

  @Test
  void reconcile_destroysTheObjectOfARotationKilledBeforeItsVersionWasRecorded_atTheFirstConnectionOnly()
      throws HsmException {
    KeyRecord k = kms.newKey();
    UUID id = k.keyId();
    HsmKey unrecorded = new HsmKey(HsmLabels.label(id, 2), HsmLabels.id(id, 2));
    Reconciler reconciler = new Reconciler(kms.store, kms.cache, r -> false);
    hsm().withSession(s -> s.generateAes256Key(unrecorded.label(), unrecorded.id()));
    // an object of an unknown key, with the same label pattern: left alone, as ever
    UUID stranger = UUID.randomUUID();
    HsmKey unknown = hsm().withSession(s -> s.generateAes256Key(HsmLabels.label(stranger, 2),
        HsmLabels.id(stranger, 2)));
    reconciler.reconcile("default", hsm());
    assertFalse(exists(unrecorded), "version 2 was never recorded, so no ciphertext names it");
    assertTrue(exists(object(k)), "the recorded version stays");
    assertTrue(exists(unknown));
    // at a reconnection a rotation of this process may be between its HSM write and its metadata write
    hsm().withSession(s -> s.generateAes256Key(unrecorded.label(), unrecorded.id()));
    reconciler.reconcile("default", hsm());
    assertTrue(exists(unrecorded), "left to the rotation in flight");
  }

  @Test
  void keyStillCreating_isNotVisibleThroughTheApi() {
    KeyRecord creating = creatingRow(Instant.now());
    KmsException e = assertThrows(KmsException.class, () -> await(kms.keys.lookup(creating.keyId())));
    assertEquals(ErrorCode.NOT_FOUND, e.code());
    KeyService.Page page = await(kms.keys.listKeys(ROOT, null, 1000));
    assertTrue(page.keys().stream().noneMatch(k -> k.keyId().equals(creating.keyId())));
  }

  /** The store fails at the last step: the client gets an error and the HSM object is rolled back. */
  @Test
  void createKey_whenTheFinalMetadataWriteFails_rollsBackTheHsmObject() throws Exception {
    MetadataStore failing = new FailingStore(kms.store);
    KeyService keys = new KeyService(KmsFixture.SETTINGS, failing, kms.cache, kms.stores, kms.storeExecutor,
        Clock.systemUTC(), 1000, kms.authz);
    int objectsBefore = hsm().withSession(s -> s.findKeys(HsmLabels.PREFIX)).size();
    int rowsBefore = kms.store.allKeys().size();
    KmsException e = assertThrows(KmsException.class, () -> await(keys.createKey(ROOT,
        new KeyService.NewKey("", KeySpec.SYMMETRIC_DEFAULT, KeyUsage.ENCRYPT_DECRYPT, Origin.AWS_KMS, List.of(), null, false))));
    assertEquals(ErrorCode.KMS_INTERNAL, e.code());
    // the rollback runs in the background: wait for it
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (System.nanoTime() < deadline) {
      boolean rowsGone = kms.store.allKeys().size() == rowsBefore;
      int objects = hsm().withSession(s -> s.findKeys(HsmLabels.PREFIX)).size();
      if (rowsGone && objects == objectsBefore) {
        return;
      }
      Thread.sleep(20);
    }
    throw new AssertionError("CreateKey was not rolled back");
  }

  /** Delegates to a real store but fails the Creating to Enabled step, as a full disk or lost database would. */
  private static final class FailingStore implements MetadataStore {
    @Override
    public void insertKey(KeyRecord key, String keyPolicy) {
      delegate.insertKey(key, keyPolicy);
    }

    @Override
    public boolean putKeyPolicy(UUID keyId, String document, java.time.Instant at) {
      return delegate.putKeyPolicy(keyId, document, at);
    }

    @Override
    public java.util.Map<UUID, String> keyPolicies() {
      return delegate.keyPolicies();
    }

    @Override
    public boolean updateKey(KeyRecord key, KeyState expected) {
      return delegate.updateKey(key, expected);
    }

    @Override
    public void addVersion(UUID keyId, io.kmsgw.domain.KeyVersion version, io.kmsgw.domain.KeyRotation rotation) {
      delegate.addVersion(keyId, version, rotation);
    }

    @Override
    public void replaceTags(UUID keyId, List<io.kmsgw.domain.Tag> tags) {
      delegate.replaceTags(keyId, tags);
    }

    @Override
    public int countKeys(String accountId) {
      return delegate.countKeys(accountId);
    }

    @Override
    public void deleteKeyRecordingDestruction(UUID keyId, String keyStoreId, List<io.kmsgw.domain.KeyVersion> v) {
      delegate.deleteKeyRecordingDestruction(keyId, keyStoreId, v);
    }

    @Override
    public java.util.Map<String, byte[]> pendingDestruction(String keyStoreId) {
      return delegate.pendingDestruction(keyStoreId);
    }

    @Override
    public void destroyed(String keyStoreId, String hsmLabel) {
      delegate.destroyed(keyStoreId, hsmLabel);
    }

    @Override
    public boolean insertCustomKeyStore(io.kmsgw.domain.CustomKeyStore store) {
      return delegate.insertCustomKeyStore(store);
    }

    @Override
    public boolean updateCustomKeyStore(io.kmsgw.domain.CustomKeyStore store) {
      return delegate.updateCustomKeyStore(store);
    }

    @Override
    public boolean deleteCustomKeyStore(String keyStoreId) {
      return delegate.deleteCustomKeyStore(keyStoreId);
    }

    @Override
    public List<io.kmsgw.domain.CustomKeyStore> customKeyStores(String accountId) {
      return delegate.customKeyStores(accountId);
    }

    @Override
    public int countKeysInStore(String keyStoreId) {
      return delegate.countKeysInStore(keyStoreId);
    }

    @Override
    public boolean insertAlias(io.kmsgw.domain.Alias alias) {
      return delegate.insertAlias(alias);
    }

    @Override
    public boolean updateAlias(io.kmsgw.domain.Alias alias) {
      return delegate.updateAlias(alias);
    }

    @Override
    public boolean deleteAlias(String accountId, String name) {
      return delegate.deleteAlias(accountId, name);
    }

    @Override
    public Optional<io.kmsgw.domain.Alias> findAlias(String accountId, String name) {
      return delegate.findAlias(accountId, name);
    }

    @Override
    public List<io.kmsgw.domain.Alias> listAliases(String accountId, UUID keyId, String afterName, int limit) {
      return delegate.listAliases(accountId, keyId, afterName, limit);
    }

    private final MetadataStore delegate;

    FailingStore(MetadataStore delegate) {
      this.delegate = delegate;
    }

    @Override
    public void insertKey(KeyRecord key) {
      delegate.insertKey(key);
    }

    @Override
    public boolean updateKeyState(UUID keyId, KeyState expected, KeyState next) {
      throw new StoreException("simulated failure of the metadata store");
    }

    @Override
    public boolean deleteKey(UUID keyId) {
      return delegate.deleteKey(keyId);
    }

    @Override
    public boolean insertGrant(io.kmsgw.domain.Grant grant) {
      return delegate.insertGrant(grant);
    }

    @Override
    public boolean deleteGrant(UUID keyId, String grantId) {
      return delegate.deleteGrant(keyId, grantId);
    }

    @Override
    public List<io.kmsgw.domain.Grant> allGrants() {
      return delegate.allGrants();
    }

    @Override
    public Optional<KeyRecord> findKey(UUID keyId) {
      return delegate.findKey(keyId);
    }

    @Override
    public List<KeyRecord> listKeys(String accountId, String afterKeyId, int limit) {
      return delegate.listKeys(accountId, afterKeyId, limit);
    }

    @Override
    public List<KeyRecord> allKeys() {
      return delegate.allKeys();
    }

    @Override
    public void close() {}
  }
}
