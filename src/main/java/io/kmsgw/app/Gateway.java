package io.kmsgw.app;

import io.kmsgw.audit.AuditEvent;
import io.kmsgw.audit.AuditLog;
import io.kmsgw.audit.AuditSink;
import io.kmsgw.audit.HttpSink;
import io.kmsgw.audit.StdoutSink;
import io.kmsgw.auth.AccessKey;
import io.kmsgw.config.ConfigException;
import io.kmsgw.config.GatewayConfig;
import io.kmsgw.domain.KeyState;
import io.kmsgw.hsm.HsmConnectorFactory;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.pkcs11.Pkcs11ConnectorFactory;
import io.kmsgw.iam.Identities;
import io.kmsgw.keystore.AuditSigningKey;
import io.kmsgw.keystore.KeyStoreConnection;
import io.kmsgw.keystore.KeyStores;
import io.kmsgw.kms.KeyCache;
import io.kmsgw.store.MetadataStore;
import io.kmsgw.store.jdbc.JdbcMetadataStore;
import io.kmsgw.store.jdbc.StoreFactory;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * Wires the gateway: the only class (with its helpers in this package) that knows every package. Starts the
 * metadata store, the key stores ({@link KeyStoreWiring}: the default one connects in the background, so the
 * service answers even while the HSM is unreachable), the audit trail, the operations ({@link Services}) and one
 * HTTP server per event loop ({@link HttpWiring}).
 */
public final class Gateway implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(Gateway.class.getName());

  private final GatewayConfig config;
  private final AdminCredentials.Resolved admin;
  private final DevToken.Prepared dev;
  private final KeyStores stores;
  private final MetadataStore store;
  private final KeyCache cache;
  private final Workers workers;
  private final AuditLog audit;
  private final HttpWiring.Listening http;

  private Gateway(GatewayConfig config, AdminCredentials.Resolved admin, KeyStoreWiring keyStores,
      MetadataStore store, KeyCache cache, Workers workers, AuditLog audit, HttpWiring.Listening http) {
    this.config = config;
    this.admin = admin;
    this.dev = keyStores.dev();
    this.stores = keyStores.stores();
    this.store = store;
    this.cache = cache;
    this.workers = workers;
    this.audit = audit;
    this.http = http;
  }

  public static Gateway start(GatewayConfig config) throws IOException, HsmException, InterruptedException {
    Clocks clocks = Clocks.of(config);
    SecretFiles.privateDirectory(config.dataDir());
    AdminCredentials.Resolved admin = AdminCredentials.resolve(config);

    ExecutorService storeExecutor = Workers.storePool();
    JdbcMetadataStore store = openStore(config);
    // the account roots from configuration; users, roles and sessions come from the store (Services), their
    // secrets stay sealed until the default key store first connects (AfterConnect)
    Identities identities = new Identities(roots(config, admin));
    KeyCache cache = new KeyCache();
    cache.loadAll(store.allKeys().stream().filter(k -> k.state() != KeyState.CREATING).toList());

    Workers workers = Workers.create(storeExecutor, config.hsm().poolSize());
    AfterConnect afterConnect = new AfterConnect(workers.scheduler());
    KeyStoreWiring keyStores = new KeyStoreWiring(config, connectors(config), workers, afterConnect);
    // before the HSM connects: events are written and chained at once, digests wait for the signing key
    AuditLog audit = openAudit(config, clocks.clock(), keyStores.auditKey());
    AuditRecorder recorder = new AuditRecorder(audit, clocks.clock(), config.region(), config.accountId());
    keyStores.defaultStore().serviceEvents(recorder);

    Services services = new Services(config, clocks, workers, store, store.identities(), store.imports(), identities, cache,
        keyStores, recorder);
    afterConnect.bind(services.afterConnect(keyStores));
    keyStores.defaultStore().connect();
    services.scheduleLifecycle(workers);
    keyStores.scheduleHealthChecks(workers);
    services.scheduleSessionPurge(workers);

    HttpWiring.Listening http;
    try {
      http = HttpWiring.listen(config, clocks, identities, services, keyStores, cache, audit, recorder);
    } catch (Exception e) {
      audit.close();
      keyStores.stores().all().forEach(KeyStoreConnection::close);
      workers.shutdownNow();
      store.close();
      throw new ConfigException("cannot listen on " + config.http().endpoint() + ": " + e.getMessage(), e);
    }
    return new Gateway(config, admin, keyStores, store, cache, workers, audit, http);
  }

  /** The metadata store: the configured database, or the embedded one under the data directory. */
  private static JdbcMetadataStore openStore(GatewayConfig config) throws IOException {
    GatewayConfig.Store s = config.store();
    String url = s.jdbcUrl() != null ? s.jdbcUrl() : StoreFactory.embeddedUrl(config.dataDir());
    String password = s.passwordFile() == null ? null : SecretFiles.firstLine(s.passwordFile());
    return StoreFactory.open(url, s.username(), password, Workers.STORE_THREADS);
  }

  /** The administrator's access key and each configured account's root. */
  private static List<AccessKey> roots(GatewayConfig config, AdminCredentials.Resolved admin) throws IOException {
    List<AccessKey> roots = new ArrayList<>(List.of(admin.key()));
    for (GatewayConfig.Account a : config.accounts()) {
      roots.add(AdminCredentials.account(config, a));
    }
    return roots;
  }

  /**
   * The connector factory for the configured HSMs: every vendor profile is reached through its PKCS#11 library
   * today; another implementation would be chosen here, from the configuration.
   */
  static HsmConnectorFactory connectors(GatewayConfig config) {
    return new Pkcs11ConnectorFactory();
  }

  /** The audit trail with its sinks, and the gateway's start recorded in it (durably, before serving). */
  private static AuditLog openAudit(GatewayConfig config, Clock clock, AuditSigningKey key) throws IOException {
    GatewayConfig.Audit a = config.audit();
    List<AuditSink> sinks = new ArrayList<>();
    if (a.stdout()) {
      sinks.add(new StdoutSink(System.out));
    }
    if (a.httpSinkUrl() != null) {
      sinks.add(new HttpSink(a.httpSinkUrl()));
    }
    AuditLog log = AuditLog.open(new AuditLog.Settings(a.dir(), a.maxFileBytes(), a.retentionDays(),
        a.digestEveryEvents(), Duration.ofSeconds(a.digestEverySeconds()), config.accountId(), config.region(),
        (long) a.preallocateMb() << 20, (long) a.lowSpaceMb() << 20),
        clock, key, sinks);
    log.append(AuditEvent.serviceEvent("KmsgwStarted").time(clock.instant()).region(config.region())
        .recipientAccountId(config.accountId()).serviceEventDetail("endpoint", config.http().endpoint()))
        .join();
    return log;
  }

  /**
   * Re-reads what can change without a restart (today: the XKS endpoints' SigV4 credentials) from a freshly loaded
   * configuration; returns one line per change for the log.
   */
  public List<String> reload(GatewayConfig fresh) {
    return http.xks() == null ? List.of("no XKS endpoint is served; nothing to reload")
        : XksSetup.reloadCredentials(http.xks(), fresh);
  }

  /** The audit trail, for the request path and the gateway's own service events. */
  public AuditLog audit() {
    return audit;
  }

  public GatewayConfig config() {
    return config;
  }

  AdminCredentials.Resolved admin() {
    return admin;
  }

  public int port() {
    return config.http().port();
  }

  /** The XKS API's wiring, or null when no XKS endpoint is configured. */
  XksSetup.Prepared xks() {
    return http.xks();
  }

  /** The port the XKS listener of its own bound, or -1 when XKS is served on the main listener. */
  int xksPort() {
    return http.xksPort();
  }

  public KeyStoreConnection.Status keyStoreStatus() {
    return stores.defaultStore().status();
  }

  /** The development tokens' PIN source, or null outside development mode. */
  DevToken.Prepared dev() {
    return dev;
  }

  /** Waits up to the timeout for the key store's first connection attempt to settle; true if connected. */
  public boolean awaitKeyStore(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      KeyStoreConnection.State s = stores.defaultStore().status().state();
      if (s == KeyStoreConnection.State.CONNECTED) {
        return true;
      }
      if (s == KeyStoreConnection.State.FAILED) {
        return false;
      }
      Thread.sleep(20);
    }
    return false;
  }

  @Override
  public void close() {
    LOG.info("shutting down");
    try {
      http.vertx().close().await(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      LOG.warning(() -> "HTTP shutdown: " + e.getMessage());
    }
    // while the HSM workers still run: the last digest is signed there
    try {
      audit.append(AuditEvent.serviceEvent("KmsgwStopped").time(Instant.now()).region(config.region())
          .recipientAccountId(config.accountId())).get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      LOG.warning(() -> "audit: the stop event was not recorded: " + e);
    }
    audit.close();
    workers.shutdown();
    stores.all().forEach(KeyStoreConnection::close);
    workers.scheduler().shutdownNow();
    store.close();
    LOG.info(() -> "stopped; " + cache.size() + " keys");
  }
}
