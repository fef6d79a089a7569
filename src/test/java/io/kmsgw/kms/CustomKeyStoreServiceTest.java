package io.kmsgw.kms;

import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.domain.Origin;
import static io.kmsgw.testing.KmsFixture.ROOT;
import static io.kmsgw.testing.KmsFixture.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.domain.CustomKeyStore;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeyState;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.hsm.pkcs11.Pkcs11Options;
import io.kmsgw.keystore.KeyStoreConnection;
import io.kmsgw.keystore.PinSealer;
import io.kmsgw.testing.KmsFixture;
import io.kmsgw.testing.TestToken;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Custom key stores on real SoftHSM2 tokens: the default store's token plus two more, each its own store with its
 * own connection, pool and PIN (sealed in the default store's HSM).
 */
class CustomKeyStoreServiceTest {
  static final String CLUSTER_NO_TOKEN = "cluster-nnnnnnnnnnn4";
  static final String ANCHOR = readAnchor();
  /** Cluster id to token label; each test defines the clusters it uses. */
  static final Map<String, String> LABELS = new java.util.concurrent.ConcurrentHashMap<>();

  static KmsFixture kms;
  static CustomKeyStoreService service;
  static CustomKeyStoreFixture stores;

  @BeforeAll
  static void start() {
    kms = new KmsFixture("cks-default");
    LABELS.put(CLUSTER_NO_TOKEN, "no-such-token-label");
    String library = kms.token.library();
    stores = new CustomKeyStoreFixture(kms, LABELS.keySet(), (clusterId, pin) -> new Pkcs11Options(library,
        LABELS.get(clusterId), pin, 2, Duration.ofSeconds(2), Duration.ofSeconds(10), true, true, 1));
    service = stores.service;
  }

  @AfterAll
  static void stop() {
    kms.close();
    stores.close();
  }

  static String readAnchor() {
    try (var in = CustomKeyStoreServiceTest.class.getResourceAsStream("/dev/trust-anchor.pem")) {
      return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** A new SoftHSM2 token defined as a cluster; returns the cluster id. */
  static String newCluster(String id) {
    LABELS.put(id, TestToken.create(id.substring("cluster-".length())).label());
    return id;
  }

  static CustomKeyStore create(String name, String cluster, String pin) {
    return await(service.create(ROOT, name, cluster, ANCHOR, pin.toCharArray(), "AWS_CLOUDHSM"));
  }

  static KeyStoreConnection.Status status(String id) {
    return kms.stores.of(id).status();
  }

  static void eventually(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting until " + what);
      }
      Thread.sleep(10);
    }
  }

  static void connected(String id) throws InterruptedException {
    await(service.connect(ROOT, id));
    eventually(id + " is CONNECTED", () -> status(id).state() == KeyStoreConnection.State.CONNECTED);
  }

  static KeyRecord keyIn(String storeId) {
    return await(kms.keys.createKey(ROOT, new KeyService.NewKey("in " + storeId, KeySpec.SYMMETRIC_DEFAULT,
        KeyUsage.ENCRYPT_DECRYPT, Origin.AWS_CLOUDHSM, List.of(), storeId, false)));
  }

  static byte[] encrypt(KeyRecord key, String text) {
    return await(kms.crypto.encrypt(ROOT, key.keyId(), text.getBytes(StandardCharsets.UTF_8), null, null, false))
        .ciphertextBlob();
  }

  static String decrypt(byte[] blob) {
    return new String(await(kms.crypto.decrypt(ROOT, blob, null, null, null, false, false)).plaintext(),
        StandardCharsets.UTF_8);
  }

  static ErrorCode failure(Runnable r) {
    return assertThrows(KmsException.class, r::run).code();
  }

  @Test
  void keysLiveInTheirStore_disconnectMakesThemUnavailable_otherStoresCarryOn_reconnectRestoresThem()
      throws Exception {
    String clusterB = newCluster("cluster-bbbbbbbbbbb2");
    CustomKeyStore b = create("store-b", clusterB, TestToken.USER_PIN);
    assertEquals(KeyStoreConnection.State.DISCONNECTED, status(b.id()).state());
    assertEquals(ErrorCode.CUSTOM_KEY_STORE_INVALID_STATE, failure(() -> keyIn(b.id())),
        "a key can be created only in a CONNECTED store");

    connected(b.id());
    KeyRecord inB = keyIn(b.id());
    assertEquals(Origin.AWS_CLOUDHSM, inB.origin());
    assertEquals(b.id(), inB.keyStoreId());
    assertEquals(clusterB, service.clusterOf(b.id()));
    KeyRecord inDefault = kms.newKey();
    byte[] blobB = encrypt(inB, "kept in store b");
    byte[] blobDefault = encrypt(inDefault, "kept in the default store");
    // the material is in token B, not in the default token
    String label = inB.versions().get(0).hsmLabel();
    assertTrue(kms.stores.of(b.id()).run(ErrorCode.KMS_INTERNAL, null,
        s -> s.exists(new HsmKey(label, inB.versions().get(0).hsmId()))).join());
    assertFalse(kms.keyStore.run(ErrorCode.KMS_INTERNAL, null,
        s -> s.exists(new HsmKey(label, inB.versions().get(0).hsmId()))).join());

    await(service.disconnect(ROOT, b.id()));
    assertEquals(KeyStoreConnection.State.DISCONNECTED, status(b.id()).state());
    KeyRecord again = await(kms.keys.lookup(inB.keyId()));
    assertEquals(KeyState.UNAVAILABLE, kms.keys.effectiveState(again));
    assertEquals(ErrorCode.KMS_INVALID_STATE, failure(() -> encrypt(inB, "x")));
    assertEquals(ErrorCode.KMS_INVALID_STATE, failure(() -> decrypt(blobB)));
    // management calls still work on an Unavailable key
    await(kms.lifecycle.updateDescription(ROOT, inB.keyId(), "changed while disconnected"));
    // the other store carries on
    assertEquals("kept in the default store", decrypt(blobDefault));

    connected(b.id());
    assertEquals(KeyState.ENABLED, kms.keys.effectiveState(await(kms.keys.lookup(inB.keyId()))));
    assertEquals("kept in store b", decrypt(blobB));
    assertEquals("again", decrypt(encrypt(inB, "again")));
  }

  @Test
  void reEncrypt_movesCiphertextBetweenStores() throws Exception {
    CustomKeyStore c = create("store-c", newCluster("cluster-ccccccccccc3"), TestToken.USER_PIN);
    connected(c.id());
    KeyRecord inC = keyIn(c.id());
    KeyRecord inDefault = kms.newKey();
    byte[] blob = encrypt(inDefault, "moving");
    byte[] moved = await(kms.crypto.reEncrypt(ROOT, blob, null, null, null, inC.keyId(), null, null, false))
        .ciphertextBlob();
    assertEquals("moving", decrypt(moved));
    assertEquals(inC.keyId(), await(kms.crypto.decrypt(ROOT, moved, null, null, null, false, false)).key().keyId());
    byte[] random = await(kms.crypto.generateRandom(ROOT, 16, c.id()));
    assertEquals(16, random.length);
  }

  @Test
  void wrongPin_isFailedWithInvalidCredentials_untilDisconnectedUpdatedAndConnected() throws Exception {
    CustomKeyStore d = create("store-d", newCluster("cluster-ddddddddddd5"), "not-the-pin");
    await(service.connect(ROOT, d.id()));
    eventually("FAILED", () -> status(d.id()).state() == KeyStoreConnection.State.FAILED);
    assertEquals("INVALID_CREDENTIALS", status(d.id()).errorCode());
    assertEquals(ErrorCode.CUSTOM_KEY_STORE_INVALID_STATE, failure(() -> await(service.connect(ROOT, d.id()))),
        "a FAILED store is recovered by Disconnect then Connect");
    assertEquals(ErrorCode.CUSTOM_KEY_STORE_INVALID_STATE, failure(() -> await(service.update(ROOT, d.id(), null,
        TestToken.USER_PIN.toCharArray(), null))), "the password changes only while DISCONNECTED");

    await(service.disconnect(ROOT, d.id()));
    await(service.update(ROOT, d.id(), "store-d-renamed", TestToken.USER_PIN.toCharArray(), null));
    connected(d.id());
    assertNull(status(d.id()).errorCode());
    assertEquals("store-d-renamed", service.find(d.id()).orElseThrow().name());
    await(service.update(ROOT, d.id(), "store-d", null, null));
    await(service.disconnect(ROOT, d.id()));
  }

  @Test
  void unknownTokenLabel_isFailedWithClusterNotFound() throws Exception {
    CustomKeyStore n = create("store-n", CLUSTER_NO_TOKEN, TestToken.USER_PIN);
    await(service.connect(ROOT, n.id()));
    eventually("FAILED", () -> status(n.id()).state() == KeyStoreConnection.State.FAILED);
    assertEquals("CLUSTER_NOT_FOUND", status(n.id()).errorCode());
    await(service.disconnect(ROOT, n.id()));
    await(service.delete(ROOT, n.id()));
    assertTrue(service.find(n.id()).isEmpty());
  }

  @Test
  void badRequests_areRefusedAndChangeNothing() {
    int before = await(service.list(ROOT)).size();
    assertEquals(ErrorCode.CLOUD_HSM_CLUSTER_NOT_FOUND, failure(() -> create("x1", "cluster-zzzzzzzzzzz7",
        TestToken.USER_PIN)));
    assertEquals(ErrorCode.INCORRECT_TRUST_ANCHOR, failure(() -> await(service.create(ROOT, "x2", CLUSTER_NO_TOKEN,
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----", "password".toCharArray(),
        "AWS_CLOUDHSM"))));
    assertEquals(ErrorCode.UNSUPPORTED_OPERATION, failure(() -> await(service.create(ROOT, "x3", CLUSTER_NO_TOKEN,
        ANCHOR, "password".toCharArray(), "EXTERNAL_KEY_STORE"))));
    assertEquals(ErrorCode.CUSTOM_KEY_STORE_NOT_FOUND, failure(() -> await(service.connect(ROOT,
        "cks-0123456789abcdef0"))));
    assertEquals(ErrorCode.CUSTOM_KEY_STORE_NOT_FOUND, failure(() -> await(kms.crypto.generateRandom(ROOT, 8,
        "default"))), "the default key store is not a custom key store");
    String emoji = "\uD83D\uDD11".repeat(256);
    CustomKeyStore longName = create(emoji, CLUSTER_NO_TOKEN, TestToken.USER_PIN);
    assertEquals(emoji, await(service.list(ROOT)).stream().filter(c -> c.id().equals(longName.id())).findFirst()
        .orElseThrow().name(), "256 characters outside the BMP fit");
    await(service.delete(ROOT, longName.id()));
    assertEquals(before, await(service.list(ROOT)).size());
  }

  @Test
  void namesAndClustersAreUnique() throws Exception {
    CustomKeyStore one = create("unique-name", CLUSTER_NO_TOKEN, TestToken.USER_PIN);
    try {
      assertEquals(ErrorCode.CLOUD_HSM_CLUSTER_IN_USE, failure(() -> create("other-name", CLUSTER_NO_TOKEN,
          TestToken.USER_PIN)));
      String other = newCluster("cluster-uuuuuuuuuuu6");
      assertEquals(ErrorCode.CUSTOM_KEY_STORE_NAME_IN_USE, failure(() -> create("unique-name", other,
          TestToken.USER_PIN)));
    } finally {
      await(service.delete(ROOT, one.id()));
    }
  }

  @Test
  void deleteStore_refusedWhileConnectedOrHoldingKeys_keyDeletionWhileDisconnectedFinishesAtConnect()
      throws Exception {
    CustomKeyStore e = create("store-e", newCluster("cluster-eeeeeeeeeee7"), TestToken.USER_PIN);
    connected(e.id());
    KeyRecord key = keyIn(e.id());
    HsmKey object = new HsmKey(key.versions().get(0).hsmLabel(), key.versions().get(0).hsmId());
    assertEquals(ErrorCode.CUSTOM_KEY_STORE_INVALID_STATE, failure(() -> await(service.delete(ROOT, e.id()))));
    await(service.disconnect(ROOT, e.id()));
    assertEquals(ErrorCode.CUSTOM_KEY_STORE_HAS_CMKS, failure(() -> await(service.delete(ROOT, e.id()))));

    await(kms.lifecycle.scheduleDeletion(ROOT, key.keyId(), 7));
    assertEquals(ErrorCode.CUSTOM_KEY_STORE_HAS_CMKS, failure(() -> await(service.delete(ROOT, e.id()))),
        "keys pending deletion still count");
    kms.clock.advance(Duration.ofDays(8));
    await(kms.lifecycle.runDueTasks());
    assertTrue(kms.store.findKey(key.keyId()).isEmpty(), "the key is deleted while its store is disconnected");
    assertEquals(1, kms.store.pendingDestruction(e.id()).size(), "its HSM object is recorded for destruction");

    connected(e.id());
    assertTrue(kms.store.pendingDestruction(e.id()).isEmpty());
    assertFalse(kms.stores.of(e.id()).run(ErrorCode.KMS_INTERNAL, null, s -> s.exists(object)).join(),
        "the object is destroyed at the next connection");
    await(service.disconnect(ROOT, e.id()));
    await(service.delete(ROOT, e.id()));
    assertTrue(service.find(e.id()).isEmpty());
    assertEquals(ErrorCode.CUSTOM_KEY_STORE_NOT_FOUND, failure(() -> kms.stores.of(e.id())));
  }

  @Test
  void theSealedPinNeverAppearsInTheMetadataFiles() throws Exception {
    String pin = "Unmistakable-PIN-7391";
    CustomKeyStore p = create("store-pin", CLUSTER_NO_TOKEN, pin);
    try {
      byte[] sealed = service.find(p.id()).orElseThrow().sealedPin();
      assertTrue(sealed.length > pin.length());
      byte[] utf8 = pin.getBytes(StandardCharsets.UTF_8);
      byte[] utf16 = pin.getBytes(StandardCharsets.UTF_16BE);
      List<Path> files;
      try (Stream<Path> s = Files.walk(kms.dataDir)) {
        files = s.filter(Files::isRegularFile).toList();
      }
      assertFalse(files.isEmpty());
      for (Path f : files) {
        byte[] content = Files.readAllBytes(f);
        assertFalse(contains(content, utf8), f + " holds the PIN in clear");
        assertFalse(contains(content, utf16), f + " holds the PIN in clear (UTF-16)");
      }
      // and it unseals to the PIN, bound to its key store
      assertEquals(pin, new String(new PinSealer(kms.stores).unseal(p.id(), sealed)));
      assertThrows(RuntimeException.class, () -> new PinSealer(kms.stores).unseal("cks-00000000000000000", sealed));
    } finally {
      await(service.delete(ROOT, p.id()));
    }
  }

  /**
   * A token yanked from under a running store: its directory removed, then the shared library re-initialised (as
   * a recovery of another store would). The health check moves the store to FAILED, its requests fail at once,
   * the default store carries on (and logs in again after the re-initialisation), no key metadata is lost, and
   * once the token is back the same ciphertext decrypts again.
   */
  @Test
  void tokenYankedFromUnderARunningStore_failsItWithoutLosingKeys() throws Exception {
    String cluster = newCluster("cluster-yyyyyyyyyyy2");
    CustomKeyStore y = create("store-yanked", cluster, TestToken.USER_PIN);
    connected(y.id());
    KeyRecord key = keyIn(y.id());
    byte[] blob = encrypt(key, "survives");
    KeyRecord other = kms.newKey();
    byte[] otherBlob = encrypt(other, "unaffected");

    Path tokenDir = tokenDirectory(LABELS.get(cluster));
    Path backup = Files.createTempDirectory(TestToken.scratch("yank"), "token");
    copyTree(tokenDir, backup);
    deleteTree(tokenDir);
    // the periodic health check finds it (C_GetTokenInfo fails) and the store goes FAILED
    kms.stores.of(y.id()).probe().get(10, java.util.concurrent.TimeUnit.SECONDS);
    eventually("FAILED", () -> status(y.id()).state() == KeyStoreConnection.State.FAILED);
    assertEquals("NETWORK_ERRORS", status(y.id()).errorCode());
    long started = System.nanoTime();
    ErrorCode code = failure(() -> encrypt(key, "x"));
    assertEquals(ErrorCode.KMS_INVALID_STATE, code);
    assertTrue(System.nanoTime() - started < Duration.ofSeconds(5).toNanos(), "no hung request");
    assertEquals(KeyState.UNAVAILABLE, kms.keys.effectiveState(await(kms.keys.lookup(key.keyId()))));
    assertEquals("unaffected", decrypt(otherBlob));

    // the library is re-initialised under every store (as recovering one does): the healthy ones log in again at
    // once, the yanked one stays FAILED until an operator acts
    io.kmsgw.hsm.Hsm before = kms.keyStore.hsm(ErrorCode.KMS_INTERNAL);
    io.kmsgw.hsm.pkcs11.SharedModule module = io.kmsgw.hsm.pkcs11.SharedModule.of(kms.token.library());
    module.reinitialize(module.generation());
    eventually("the default store reconnects", () -> kms.keyStore.isConnected()
        && kms.keyStore.hsm(ErrorCode.KMS_INTERNAL) != before);
    assertEquals("unaffected", decrypt(otherBlob));
    await(service.disconnect(ROOT, y.id()));
    await(service.connect(ROOT, y.id()));
    eventually("FAILED", () -> status(y.id()).state() == KeyStoreConnection.State.FAILED);
    assertEquals("CLUSTER_NOT_FOUND", status(y.id()).errorCode());
    assertTrue(kms.store.findKey(key.keyId()).isPresent(), "no key metadata is lost");

    // the token comes back; recovering a FAILED store is Disconnect then Connect
    copyTree(backup, tokenDir);
    io.kmsgw.hsm.Hsm second = kms.keyStore.hsm(ErrorCode.KMS_INTERNAL);
    module.reinitialize(module.generation());
    eventually("the default store reconnects", () -> kms.keyStore.isConnected()
        && kms.keyStore.hsm(ErrorCode.KMS_INTERNAL) != second);
    await(service.disconnect(ROOT, y.id()));
    connected(y.id());
    assertEquals("survives", decrypt(blob));
    await(service.disconnect(ROOT, y.id()));
  }

  /** The directory SoftHSM2 keeps a token in: the one whose token.object holds its label. */
  static Path tokenDirectory(String label) throws java.io.IOException {
    String conf = System.getenv("SOFTHSM2_CONF");
    Path tokens = Path.of(conf).getParent().resolve("tokens");
    try (Stream<Path> dirs = Files.list(tokens)) {
      for (Path d : dirs.toList()) {
        Path object = d.resolve("token.object");
        if (Files.exists(object) && contains(Files.readAllBytes(object), label.getBytes(StandardCharsets.US_ASCII))) {
          return d;
        }
      }
    }
    throw new AssertionError("no token directory for " + label);
  }

  static void copyTree(Path from, Path to) throws java.io.IOException {
    Files.createDirectories(to);
    try (Stream<Path> files = Files.list(from)) {
      for (Path f : files.toList()) {
        Files.copy(f, to.resolve(f.getFileName().toString()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
    }
  }

  static void deleteTree(Path dir) throws java.io.IOException {
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.toList()) {
        Files.delete(f);
      }
    }
    Files.delete(dir);
  }

  static boolean contains(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }
}
