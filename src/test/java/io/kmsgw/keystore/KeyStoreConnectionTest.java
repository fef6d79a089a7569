package io.kmsgw.keystore;

import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.domain.Origin;
import static io.kmsgw.testing.Eventually.eventually;
import static io.kmsgw.testing.KmsFixture.ROOT;
import static io.kmsgw.testing.KmsFixture.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeyState;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.hsm.Hsm;
import io.kmsgw.hsm.HsmConnector;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.pkcs11.Pkcs11Connector;
import io.kmsgw.hsm.pkcs11.Pkcs11Options;
import io.kmsgw.hsm.pkcs11.SharedModule;
import io.kmsgw.hsm.pkcs11.SoftHsmTokens;
import io.kmsgw.kms.CryptoService;
import io.kmsgw.kms.HsmLabels;
import io.kmsgw.kms.KeyCache;
import io.kmsgw.kms.KeyService;
import io.kmsgw.store.MetadataStore;
import io.kmsgw.store.jdbc.StoreFactory;
import io.kmsgw.testing.KmsFixture;
import io.kmsgw.testing.OnEveryToken;
import io.kmsgw.testing.TestToken;
import io.kmsgw.testing.TokenKind;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.Parameter;

/** The key store's connection states, errors, retries and recovery, on real tokens of each kind (SoftHSM2, NSS). */
@OnEveryToken
class KeyStoreConnectionTest {
  @Parameter
  TokenKind kind;
  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
  private final java.util.concurrent.ExecutorService workerPool = Executors.newFixedThreadPool(2);
  private KeyStoreConnection connection;

  @AfterEach
  void close() {
    if (connection != null) {
      connection.close();
    }
    workerPool.shutdownNow();
    scheduler.shutdownNow();
  }

  /** Counts connection attempts. */
  private static final class Counting implements HsmConnector {
    final Pkcs11Connector delegate;
    final AtomicInteger attempts = new AtomicInteger();

    Counting(Pkcs11Options options) {
      this.delegate = new Pkcs11Connector(options);
    }

    @Override
    public Hsm connect(FatalErrorListener listener) throws HsmException {
      attempts.incrementAndGet();
      return delegate.connect(listener);
    }

    @Override
    public void recover() throws HsmException {
      delegate.recover();
    }

    @Override
    public String describe() {
      return delegate.describe();
    }
  }

  private KeyStoreConnection connection(HsmConnector connector) {
    connection = new KeyStoreConnection("default", connector, scheduler, Duration.ofMillis(50), Duration.ofMillis(200),
        new HsmWorkers(workerPool, Duration.ofSeconds(2)), true, h -> {});
    return connection;
  }

  @Test
  void wrongPin_failsWithInvalidCredentials_andIsNotRetried() throws Exception {
    TestToken token = kind.newToken("ks-pin");
    Counting connector = new Counting(token.options(1, "wrong-pin", Duration.ofSeconds(1)));
    KeyStoreConnection c = connection(connector);
    c.connect();
    eventually("FAILED", () -> c.status().state() == KeyStoreConnection.State.FAILED);
    assertEquals("INVALID_CREDENTIALS", c.status().errorCode());
    assertThrows(KmsException.class, () -> c.hsm(ErrorCode.KMS_INVALID_STATE), "a request does not retry it either");
    Thread.sleep(400);
    assertEquals(1, connector.attempts.get(), "a wrong PIN is not retried: it would count against the HSM's limit");
  }

  /** Fails its first attempts with the given kind (as a process out of descriptors sees), then connects. */
  private static final class FailingFirst implements HsmConnector {
    final Pkcs11Connector delegate;
    final io.kmsgw.hsm.HsmErrorKind kind;
    final AtomicInteger failuresLeft;
    final AtomicInteger attempts = new AtomicInteger();

    FailingFirst(Pkcs11Options options, io.kmsgw.hsm.HsmErrorKind kind, long ckr, int failures) {
      this.delegate = new Pkcs11Connector(options);
      this.kind = kind;
      this.ckr = ckr;
      this.failuresLeft = new AtomicInteger(failures);
    }

    final long ckr;

    @Override
    public Hsm connect(FatalErrorListener listener) throws HsmException {
      attempts.incrementAndGet();
      if (failuresLeft.getAndDecrement() > 0) {
        throw new HsmException(kind, ckr, ckr < 0 ? null : "CKR_GENERAL_ERROR", "C_Initialize failed", null);
      }
      return delegate.connect(listener);
    }

    @Override
    public void recover() throws HsmException {
      delegate.recover();
    }

    @Override
    public String describe() {
      return delegate.describe();
    }
  }

  private KeyStoreConnection slowBackoffConnection(HsmConnector connector) {
    connection = new KeyStoreConnection("default", connector, scheduler, Duration.ofSeconds(30),
        Duration.ofSeconds(60), new HsmWorkers(workerPool, Duration.ofSeconds(2)), true, h -> {});
    return connection;
  }

  @Test
  void transientFailure_isRetriedWithinTwoSeconds_howeverLongTheConfiguredBackoff() throws Exception {
    TestToken token = kind.newToken("ks-transient");
    // a C_Initialize that answered CKR_GENERAL_ERROR (SoftHSM2 out of file descriptors), twice
    FailingFirst connector = new FailingFirst(token.options(1), io.kmsgw.hsm.HsmErrorKind.LIBRARY_ERROR, 5, 2);
    KeyStoreConnection c = slowBackoffConnection(connector);
    c.connect();
    eventually("FAILED", () -> c.status().state() == KeyStoreConnection.State.FAILED);
    assertTrue(c.status().message().contains("retrying in 2000 ms"), c.status().message());
    eventually("CONNECTED after two short retries", c::isConnected);
    assertEquals(3, connector.attempts.get());
  }

  @Test
  void permanentFailure_keepsTheConfiguredBackoff() throws Exception {
    TestToken token = kind.newToken("ks-permanent");
    // the library could not be loaded at all: no C_Initialize answered
    FailingFirst connector = new FailingFirst(token.options(1), io.kmsgw.hsm.HsmErrorKind.LIBRARY_ERROR, -1, 1);
    KeyStoreConnection c = slowBackoffConnection(connector);
    c.connect();
    eventually("FAILED", () -> c.status().state() == KeyStoreConnection.State.FAILED);
    assertTrue(c.status().message().contains("retrying in 30000 ms"), c.status().message());
  }

  @Test
  void aRequestFindingTheStoreFailed_bringsTheRetryForward() throws Exception {
    TestToken token = kind.newToken("ks-demand");
    FailingFirst connector = new FailingFirst(token.options(1), io.kmsgw.hsm.HsmErrorKind.TOKEN_NOT_FOUND, -1, 1);
    KeyStoreConnection c = slowBackoffConnection(connector);
    c.connect();
    eventually("FAILED", () -> c.status().state() == KeyStoreConnection.State.FAILED);
    assertTrue(c.status().message().contains("retrying in 30000 ms"), c.status().message());
    KmsException refused = assertThrows(KmsException.class, () -> c.hsm(ErrorCode.KMS_INVALID_STATE));
    assertEquals(ErrorCode.KMS_INVALID_STATE, refused.code(), "the request itself is refused at once");
    eventually("CONNECTED long before the 30 s backoff", c::isConnected);
    assertEquals(2, connector.attempts.get());
  }

  @Test
  void missingToken_failsWithClusterNotFound_thenConnectsOnceTheTokenExists() throws Exception {
    TestToken template = kind.newToken("ks-later");
    String label = "later-" + UUID.randomUUID().toString().substring(0, 8);
    Pkcs11Options o = template.options().poolSize(2).label(label).build();
    Counting connector = new Counting(o);
    KeyStoreConnection c = connection(connector);
    c.connect();
    eventually("FAILED", () -> c.status().state() == KeyStoreConnection.State.FAILED);
    assertEquals("CLUSTER_NOT_FOUND", c.status().errorCode());
    assumeTrue(kind.createsTokensAtRunTime(), "the token cannot appear later: an initialised NSS softoken opens no "
        + "new database (the failure above held)");
    SoftHsmTokens.initToken(o.library(), label, TestToken.SO_PIN.toCharArray(), TestToken.USER_PIN.toCharArray());
    eventually("CONNECTED", c::isConnected);
    assertTrue(connector.attempts.get() >= 2);
    assertEquals(null, c.status().errorCode());
  }

  @Test
  void whileFailed_keysAreUnavailable_cryptoIsRefused_managementStillAnswers() throws Exception {
    TestToken token = kind.newToken("ks-down");
    MetadataStore store = StoreFactory.open(StoreFactory.embeddedUrl(TestToken.scratch("ks-down")), null, null, 2);
    try {
      KeyStoreConnection c = connection(new Counting(token.options(1, "wrong-pin", Duration.ofSeconds(1))));
      c.connect();
      eventually("FAILED", () -> c.status().state() == KeyStoreConnection.State.FAILED);
      var exec = Executors.newFixedThreadPool(2);
      HsmWorkers workers = new HsmWorkers(exec, Duration.ofSeconds(2));
      KeyService keys = new KeyService(KmsFixture.SETTINGS, store, new KeyCache(), new KeyStores(c), exec,
          Clock.systemUTC(), 1000, new io.kmsgw.kms.Authorizer(KmsFixture.SETTINGS.accountId(), new io.kmsgw.kms.KeyPolicies(),
              io.kmsgw.policy.IdentityPolicies.NONE, Clock.systemUTC()));
      CryptoService crypto = new CryptoService(keys, new KeyStores(c));
      UUID id = UUID.randomUUID();
      store.insertKey(new KeyRecord(id, "111122223333", "us-east-1", java.time.Instant.now(), "", KeyState.ENABLED,
          KeyUsage.ENCRYPT_DECRYPT, KeySpec.SYMMETRIC_DEFAULT, Origin.AWS_KMS, "default", 1, null, 0, io.kmsgw.domain.KeyRotation.DISABLED,
          List.of(new io.kmsgw.domain.KeyVersion(1, HsmLabels.label(id, 1), HsmLabels.id(id, 1),
              java.time.Instant.now(), null)), List.of()));

      KeyRecord k = await(keys.lookup(id));
      assertEquals(KeyState.UNAVAILABLE, keys.effectiveState(k));
      KmsException e = assertThrows(KmsException.class,
          () -> await(crypto.encrypt(ROOT, id, new byte[] {1}, null, null, false)));
      assertEquals(ErrorCode.KMS_INVALID_STATE, e.code());
      e = assertThrows(KmsException.class, () -> await(keys.createKey(ROOT,
          new KeyService.NewKey("", KeySpec.SYMMETRIC_DEFAULT, KeyUsage.ENCRYPT_DECRYPT, Origin.AWS_KMS, List.of(), null, false))));
      assertEquals(ErrorCode.DEPENDENCY_TIMEOUT, e.code());
      e = assertThrows(KmsException.class, () -> await(crypto.generateRandom(ROOT, 8, null)));
      assertEquals(ErrorCode.DEPENDENCY_TIMEOUT, e.code());
      exec.shutdownNow();
    } finally {
      store.close();
    }
  }

  @Test
  void libraryReinitialisedUnderneath_connectionIsLostAndComesBack() throws Exception {
    try (KmsFixture kms = new KmsFixture(kind, "ks-device")) {
      KeyRecord key = kms.newKey();
      byte[] blob = await(kms.crypto.encrypt(ROOT, key.keyId(), new byte[] {9}, null, null, false)).ciphertextBlob();
      Hsm before = kms.keyStore.hsm(ErrorCode.KMS_INTERNAL);
      SharedModule module = kms.token.sharedModule();
      // what a device error does to every session of the library
      module.reinitialize(module.generation());
      // the connection hears of it at once and logs in again; a request in that window fails, and says so
      try {
        await(kms.crypto.decrypt(ROOT, blob, null, null, null, false, false));
      } catch (KmsException e) {
        assertTrue(e.code() == ErrorCode.KEY_UNAVAILABLE || e.code() == ErrorCode.KMS_INVALID_STATE, e.code().name());
      }
      eventually("reconnected", () -> kms.keyStore.isConnected() && kms.keyStore.hsm(ErrorCode.KMS_INTERNAL) != before);
      assertEquals(1, await(kms.crypto.decrypt(ROOT, blob, null, null, null, false, false)).plaintext().length);
    }
  }

  /** Wraps a real connection; once {@code fault} is set every call fails as a dead device would. */
  private static final class Faulty implements HsmConnector {
    final Pkcs11Connector delegate;
    final java.util.concurrent.atomic.AtomicBoolean fault = new java.util.concurrent.atomic.AtomicBoolean();
    final AtomicInteger recoveries = new AtomicInteger();

    Faulty(Pkcs11Options options) {
      this.delegate = new Pkcs11Connector(options);
    }

    @Override
    public Hsm connect(FatalErrorListener listener) throws HsmException {
      if (fault.get()) {
        throw new HsmException(io.kmsgw.hsm.HsmErrorKind.DEVICE_ERROR, "injected: the device does not answer");
      }
      Hsm real = delegate.connect(listener);
      return new Hsm() {
        @Override
        public <T> T withSession(SessionWork<T> work) throws HsmException {
          if (fault.get()) {
            HsmException e = new HsmException(io.kmsgw.hsm.HsmErrorKind.DEVICE_ERROR, "injected CKR_DEVICE_ERROR");
            listener.onFatal(e);
            throw e;
          }
          return real.withSession(work);
        }

        @Override
        public void probe() throws HsmException {
          withSession(s -> s.generateRandom(1));
        }

        @Override
        public io.kmsgw.hsm.HsmStats stats() {
          return real.stats();
        }

        @Override
        public io.kmsgw.hsm.TokenMechanisms mechanisms() {
          return real.mechanisms();
        }

        @Override
        public void close() {
          real.close();
        }
      };
    }

    @Override
    public void recover() {
      recoveries.incrementAndGet();
    }

    @Override
    public String describe() {
      return "faulty " + delegate.describe();
    }
  }

  @Test
  void deviceErrorUnderThePool_customStoreGoesFailed_requestsFailFast_operatorReconnects() throws Exception {
    TestToken token = kind.newToken("ks-fault");
    Faulty connector = new Faulty(token.options(2));
    connection = new KeyStoreConnection("cks-00000000000000001", connector, scheduler, Duration.ofMillis(50),
        Duration.ofMillis(200), new HsmWorkers(workerPool, Duration.ofSeconds(2)), false, h -> {});
    KeyStoreConnection c = connection;
    c.connect();
    eventually("CONNECTED", c::isConnected);
    assertEquals(8, c.run(ErrorCode.KMS_INVALID_STATE, null, s -> s.generateRandom(8)).join().length);

    connector.fault.set(true);
    long started = System.nanoTime();
    java.util.concurrent.CompletionException e = assertThrows(java.util.concurrent.CompletionException.class,
        () -> c.run(ErrorCode.KMS_INVALID_STATE, "arn:key", s -> s.generateRandom(8)).join());
    assertEquals(ErrorCode.KEY_UNAVAILABLE, ((KmsException) e.getCause()).code());
    assertTrue(System.nanoTime() - started < Duration.ofSeconds(2).toNanos(), "a dead device fails fast");
    eventually("FAILED", () -> c.status().state() == KeyStoreConnection.State.FAILED);
    assertEquals("NETWORK_ERRORS", c.status().errorCode());
    KmsException refused = assertThrows(KmsException.class,
        () -> c.run(ErrorCode.KMS_INVALID_STATE, null, s -> s.generateRandom(8)));
    assertEquals(ErrorCode.KMS_INVALID_STATE, refused.code());
    Thread.sleep(300);
    assertEquals(KeyStoreConnection.State.FAILED, c.status().state(), "a custom store waits for an operator");

    connector.fault.set(false);
    c.disconnect().get(10, java.util.concurrent.TimeUnit.SECONDS);
    assertEquals(KeyStoreConnection.State.DISCONNECTED, c.status().state());
    c.connect();
    eventually("CONNECTED again", c::isConnected);
    assertEquals(1, connector.recoveries.get(), "the library is re-initialised before connecting again");
    assertEquals(8, c.run(ErrorCode.KMS_INVALID_STATE, null, s -> s.generateRandom(8)).join().length);
  }

  @Test
  void deviceErrorUnderThePool_autoReconnectingStoreRecoversByItself() throws Exception {
    TestToken token = kind.newToken("ks-fault-auto");
    Faulty connector = new Faulty(token.options(2));
    KeyStoreConnection c = connection(connector);
    c.connect();
    eventually("CONNECTED", c::isConnected);
    connector.fault.set(true);
    assertThrows(java.util.concurrent.CompletionException.class,
        () -> c.run(ErrorCode.KMS_INVALID_STATE, null, s -> s.generateRandom(8)).join());
    eventually("FAILED", () -> c.status().state() == KeyStoreConnection.State.FAILED);
    connector.fault.set(false);
    eventually("CONNECTED again by itself", c::isConnected);
    assertTrue(connector.recoveries.get() >= 1);
    assertEquals(8, c.run(ErrorCode.KMS_INVALID_STATE, null, s -> s.generateRandom(8)).join().length);
  }

  @Test
  void fewerTokensThanMinHsms_failsWithInsufficientCloudHsmHsms() throws Exception {
    TestToken token = kind.newToken("ks-min-hsms");
    KeyStoreConnection c = connection(new Counting(token.options().poolSize(1).minHsms(2).build()));
    c.connect();
    eventually("FAILED", () -> c.status().state() == KeyStoreConnection.State.FAILED);
    assertEquals("INSUFFICIENT_CLOUDHSM_HSMS", c.status().errorCode());
    assertTrue(c.status().message().contains("min_hsms"), c.status().message());
  }

  @Test
  void everyHsmFailureHasItsConnectionErrorCode() {
    Map<io.kmsgw.hsm.HsmErrorKind, String> expected = Map.of(
        io.kmsgw.hsm.HsmErrorKind.PIN_INCORRECT, "INVALID_CREDENTIALS",
        io.kmsgw.hsm.HsmErrorKind.PIN_LOCKED, "USER_LOCKED_OUT",
        io.kmsgw.hsm.HsmErrorKind.ANOTHER_USER_LOGGED_IN, "USER_LOGGED_IN",
        io.kmsgw.hsm.HsmErrorKind.TOKEN_NOT_FOUND, "CLUSTER_NOT_FOUND",
        io.kmsgw.hsm.HsmErrorKind.INSUFFICIENT_HSMS, "INSUFFICIENT_CLOUDHSM_HSMS",
        io.kmsgw.hsm.HsmErrorKind.DEVICE_ERROR, "NETWORK_ERRORS",
        io.kmsgw.hsm.HsmErrorKind.NOT_LOGGED_IN, "NETWORK_ERRORS",
        io.kmsgw.hsm.HsmErrorKind.LIBRARY_ERROR, "INTERNAL_ERROR");
    expected.forEach((kind, code) -> assertEquals(code, KeyStoreConnection.connectionErrorCode(kind), kind.name()));
    // every code is one of the model's ConnectionErrorCodeType values
    java.util.Set<String> model = java.util.Set.of("INVALID_CREDENTIALS", "CLUSTER_NOT_FOUND", "NETWORK_ERRORS",
        "INTERNAL_ERROR", "INSUFFICIENT_CLOUDHSM_HSMS", "USER_LOCKED_OUT", "USER_NOT_FOUND", "USER_LOGGED_IN",
        "SUBNET_NOT_FOUND", "INSUFFICIENT_FREE_ADDRESSES_IN_SUBNET", "XKS_PROXY_ACCESS_DENIED",
        "XKS_PROXY_NOT_REACHABLE", "XKS_VPC_ENDPOINT_SERVICE_NOT_FOUND", "XKS_PROXY_INVALID_RESPONSE",
        "XKS_PROXY_INVALID_CONFIGURATION", "XKS_VPC_ENDPOINT_SERVICE_INVALID_CONFIGURATION", "XKS_PROXY_TIMED_OUT",
        "XKS_PROXY_INVALID_TLS_CONFIGURATION");
    for (io.kmsgw.hsm.HsmErrorKind kind : io.kmsgw.hsm.HsmErrorKind.values()) {
      assertTrue(model.contains(KeyStoreConnection.connectionErrorCode(kind)), kind.name());
    }
  }

  /**
   * Connect, Disconnect while the attempt is still logging in, Connect again: the stale attempt closes what it
   * opened (and gives the token back), the new one connects, and nothing stays logged in twice.
   */
  @Test
  void disconnectDuringASlowAttempt_thenConnect_endsWithOneConnection() throws Exception {
    TestToken token = kind.newToken("ks-race");
    AtomicInteger attempts = new AtomicInteger();
    Pkcs11Connector real = new Pkcs11Connector(token.options(1));
    HsmConnector slow = new HsmConnector() {
      @Override
      public Hsm connect(FatalErrorListener listener) throws HsmException {
        if (attempts.incrementAndGet() == 1) {
          try {
            Thread.sleep(400);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        return real.connect(listener);
      }

      @Override
      public void recover() throws HsmException {
        real.recover();
      }

      @Override
      public String describe() {
        return "slow " + real.describe();
      }
    };
    connection = new KeyStoreConnection("cks-00000000000000002", slow, scheduler, Duration.ofMillis(50),
        Duration.ofMillis(200), new HsmWorkers(workerPool, Duration.ofSeconds(2)), false, h -> {});
    KeyStoreConnection c = connection;
    c.connect();
    Thread.sleep(100);
    var disconnected = c.disconnect();
    assertEquals(KeyStoreConnection.State.DISCONNECTING, c.status().state());
    c.connect();
    assertEquals(KeyStoreConnection.State.DISCONNECTING, c.status().state(), "no Connect while DISCONNECTING");
    disconnected.get(10, java.util.concurrent.TimeUnit.SECONDS);
    assertEquals(KeyStoreConnection.State.DISCONNECTED, c.status().state(), "the stale attempt did not publish");
    c.connect();
    eventually("CONNECTED", c::isConnected);
    assertEquals(2, attempts.get());
    assertEquals(8, c.run(ErrorCode.KMS_INVALID_STATE, null, s -> s.generateRandom(8)).join().length);
    c.disconnect().get(10, java.util.concurrent.TimeUnit.SECONDS);
    c.connect();
    eventually("CONNECTED again: the token was given back each time", c::isConnected);
  }
}
