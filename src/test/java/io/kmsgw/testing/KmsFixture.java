package io.kmsgw.testing;

import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.domain.Origin;
import io.kmsgw.domain.Caller;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.hsm.pkcs11.Pkcs11Connector;
import io.kmsgw.kms.AliasService;
import io.kmsgw.kms.Authorizer;
import io.kmsgw.kms.CryptoService;
import io.kmsgw.kms.GrantService;
import io.kmsgw.kms.KeyLifecycle;
import io.kmsgw.keystore.HsmWorkers;
import io.kmsgw.kms.KeyCache;
import io.kmsgw.kms.KeyService;
import io.kmsgw.keystore.KeyStoreConnection;
import io.kmsgw.keystore.KeyStores;
import io.kmsgw.kms.KmsSettings;
import io.kmsgw.store.MetadataStore;
import io.kmsgw.store.jdbc.StoreFactory;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The operations layer on a real token (SoftHSM2 unless a {@link TokenKind} is given) and a real H2 store, without HTTP: what the gateway wires, minus
 * the transport. One per test class.
 */
public final class KmsFixture implements AutoCloseable {
  public static final KmsSettings SETTINGS = new KmsSettings("111122223333", "us-east-1");
  public static final Caller ROOT = new Caller("arn:aws:iam::111122223333:root", "111122223333", "111122223333",
      "AKIATEST", "Root");

  public final TestToken token;
  public final Path dataDir;
  public final MetadataStore store;
  public final KeyCache cache = new KeyCache();
  public final ExecutorService hsmExecutor = Executors.newFixedThreadPool(4);
  public final ExecutorService storeExecutor = Executors.newFixedThreadPool(2);
  public final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
  public final KeyStoreConnection keyStore;
  public final HsmWorkers hsmWorkers;
  /** The default store and any custom stores a test adds. */
  public final KeyStores stores;
  public final java.util.concurrent.ExecutorService lifecycleExecutor = Executors.newSingleThreadExecutor();
  /** The lifecycle clock: tests move it forward to reach rotation and deletion dates without sleeping. */
  public final MutableClock clock = new MutableClock();
  public final AliasService aliases;
  public final KeyLifecycle lifecycle;
  public final KeyService keys;
  public final io.kmsgw.kms.KeyPolicies keyPolicies = new io.kmsgw.kms.KeyPolicies();
  /** Identity policies by caller ARN; tests put a principal's IAM policies here. */
  public final java.util.Map<String, java.util.List<io.kmsgw.policy.PolicyDocument>> iamPolicies =
      new java.util.concurrent.ConcurrentHashMap<>();
  private final io.kmsgw.policy.IdentityPolicies identities =
      caller -> iamPolicies.getOrDefault(caller.arn(), java.util.List.of());
  public final io.kmsgw.kms.Authorizer authz;
  public final CryptoService crypto;
  public final GrantService grants;

  public KmsFixture(String name) {
    this(TokenKind.SOFTHSM2, name);
  }

  /** On a fresh token of this kind (on NSS: the JVM's NSS database, see {@link NssTestDatabase}). */
  public KmsFixture(TokenKind kind, String name) {
    this(kind.newToken(name), TestToken.scratch(name));
  }

  public KmsFixture(TestToken token, Path dataDir) {
    this(token, dataDir, token.options(4));
  }

  /** On a token reached with the given adapter options (another PIN, HSM-generated IVs, no session copies). */
  public KmsFixture(TestToken token, Path dataDir, io.kmsgw.hsm.pkcs11.Pkcs11Options options) {
    this.token = token;
    this.dataDir = dataDir;
    this.store = StoreFactory.open(StoreFactory.embeddedUrl(dataDir), null, null, 2);
    this.hsmWorkers = new HsmWorkers(hsmExecutor, Duration.ofSeconds(2));
    this.keyStore = new KeyStoreConnection(KeyRecord.DEFAULT_KEY_STORE, new Pkcs11Connector(options),
        scheduler, Duration.ofMillis(50), Duration.ofMillis(200), hsmWorkers, true, hsm -> {});
    this.stores = new KeyStores(keyStore);
    keyStore.connect();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!keyStore.isConnected()) {
      if (System.nanoTime() > deadline) {
        // the retrying connection would hold the token from the next class (one connection per token per process)
        String status = keyStore.status().toString();
        close();
        throw new IllegalStateException("test token did not connect: " + status);
      }
      Thread.onSpinWait();
    }
    this.keyPolicies.load(store);
    this.authz = new Authorizer(SETTINGS.accountId(), keyPolicies, identities, clock);
    this.keys = new KeyService(SETTINGS, store, cache, stores, storeExecutor, clock, 1000, authz);
    this.crypto = new CryptoService(keys, stores);
    this.aliases = new AliasService(SETTINGS, store, keys::lookup, stores, lifecycleExecutor, storeExecutor, clock,
        authz);
    authz.aliases(aliases::namesOf);
    this.lifecycle = new KeyLifecycle(SETTINGS, store, cache, stores, lifecycleExecutor, clock, aliases, authz);
    this.grants = new GrantService(SETTINGS, store, keys, stores, authz, lifecycleExecutor, clock,
        GrantService.DEFAULT_MAX_GRANTS_PER_KEY);
    grants.load();
    authz.grants(grants);
  }

  public KeyRecord newKey() {
    return await(keys.createKey(ROOT, new KeyService.NewKey("test key", KeySpec.SYMMETRIC_DEFAULT, KeyUsage.ENCRYPT_DECRYPT,
        Origin.AWS_KMS, List.of(), null, false)));
  }

  /** The stage's value; its failure is rethrown unwrapped (a KmsException stays one). */
  public static <T> T await(CompletionStage<T> stage) {
    try {
      return stage.toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      Throwable t = e.getCause();
      while (t instanceof java.util.concurrent.CompletionException && t.getCause() != null) {
        t = t.getCause();
      }
      if (t instanceof RuntimeException r) {
        throw r;
      }
      throw new IllegalStateException(t);
    } catch (InterruptedException | TimeoutException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    stores.all().forEach(KeyStoreConnection::close);
    scheduler.shutdownNow();
    hsmExecutor.shutdownNow();
    storeExecutor.shutdownNow();
    lifecycleExecutor.shutdownNow();
    store.close();
  }
}
