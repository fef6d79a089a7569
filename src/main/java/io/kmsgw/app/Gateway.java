package io.kmsgw.app;

import io.kmsgw.api.http.ConnectionGuard;
import io.kmsgw.api.http.GatewayHttpServer;
import io.kmsgw.api.http.HealthEndpoints;
import io.kmsgw.api.http.HostNames;
import io.kmsgw.audit.AuditEvent;
import io.kmsgw.audit.AuditLog;
import io.kmsgw.audit.AuditSink;
import io.kmsgw.audit.HttpSink;
import io.kmsgw.audit.StdoutSink;
import io.kmsgw.keystore.AuditSigningKey;
import io.kmsgw.api.kms.ops.CustomKeyStoreOperations;
import io.kmsgw.config.HsmDefinition;
import io.kmsgw.domain.CustomKeyStore;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.hsm.Hsm;
import io.kmsgw.hsm.HsmConnector;
import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.kms.CustomKeyStoreService;
import io.kmsgw.keystore.KeyStores;
import io.kmsgw.keystore.PinSealer;
import java.util.ArrayList;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.function.BiConsumer;
import io.kmsgw.api.kms.KeyIdResolver;
import io.kmsgw.api.kms.KmsApi;
import io.kmsgw.api.kms.model.ServiceModel;
import io.kmsgw.api.kms.ops.AliasOperations;
import io.kmsgw.api.kms.ops.GrantOperations;
import io.kmsgw.api.kms.ops.CreateKeyHandler;
import io.kmsgw.api.kms.ops.LifecycleOperations;
import io.kmsgw.api.kms.ops.ReEncryptHandler;
import io.kmsgw.api.kms.ops.DecryptHandler;
import io.kmsgw.api.kms.ops.DescribeKeyHandler;
import io.kmsgw.api.kms.ops.EncryptHandler;
import io.kmsgw.api.kms.ops.GenerateDataKeyHandler;
import io.kmsgw.api.kms.ops.GenerateRandomHandler;
import io.kmsgw.api.kms.ops.KeyMetadataView;
import io.kmsgw.api.kms.ops.ListKeysHandler;
import io.kmsgw.auth.SigV4Verifier;
import io.kmsgw.api.iam.IamActions;
import io.kmsgw.api.iam.QueryApi;
import io.kmsgw.api.iam.StsActions;
import io.kmsgw.iam.IamService;
import io.kmsgw.iam.Identities;
import io.kmsgw.iam.IdentityLoader;
import io.kmsgw.iam.StsService;
import io.kmsgw.keystore.SecretSealer;
import io.kmsgw.store.IdentityStore;
import io.kmsgw.config.ConfigException;
import io.kmsgw.config.GatewayConfig;
import io.kmsgw.domain.KeyState;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmStats;
import io.kmsgw.hsm.pkcs11.Pkcs11Connector;
import io.kmsgw.hsm.pkcs11.Pkcs11Options;
import io.kmsgw.kms.AliasService;
import io.kmsgw.kms.GrantService;
import io.kmsgw.kms.Authorizer;
import io.kmsgw.kms.KeyPolicies;
import io.kmsgw.kms.CryptoService;
import io.kmsgw.kms.KeyLifecycle;
import io.kmsgw.keystore.HsmWorkers;
import io.kmsgw.kms.KeyCache;
import io.kmsgw.kms.KeyService;
import io.kmsgw.keystore.KeyStoreConnection;
import io.kmsgw.kms.KmsSettings;
import io.kmsgw.kms.Reconciler;
import io.kmsgw.store.MetadataStore;
import io.kmsgw.store.jdbc.StoreFactory;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * Wires the gateway: the only class that knows every package. Starts the metadata store, the key store
 * connection (in the background: the service answers even while the HSM is unreachable), the operations, and one
 * HTTP server per event loop.
 */
public final class Gateway implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(Gateway.class.getName());
  /** Seconds between health checks of each connected key store. */
  static final long HEALTH_CHECK_SECONDS = 30;

  private final GatewayConfig config;
  private final AdminCredentials.Resolved admin;
  private final Vertx vertx;
  private final DevToken.Prepared dev;
  private final KeyStores stores;
  private final MetadataStore store;
  private final KeyCache cache;
  private final ExecutorService storeExecutor;
  private final ThreadPoolExecutor hsmExecutor;
  private final ScheduledExecutorService scheduler;
  private final ExecutorService lifecycleExecutor;
  private final AuditLog audit;
  private final int port;
  /** The XKS API's wiring (endpoints, listener, development credential), or null; set once by start. */
  private XksSetup.Prepared xks;
  private int xksPort = -1;

  private Gateway(GatewayConfig config, AdminCredentials.Resolved admin, DevToken.Prepared dev, Vertx vertx,
      KeyStores stores,
      MetadataStore store, KeyCache cache, ExecutorService storeExecutor, ThreadPoolExecutor hsmExecutor,
      ScheduledExecutorService scheduler, ExecutorService lifecycleExecutor, AuditLog audit, int port) {
    this.config = config;
    this.admin = admin;
    this.vertx = vertx;
    this.dev = dev;
    this.stores = stores;
    this.store = store;
    this.cache = cache;
    this.storeExecutor = storeExecutor;
    this.hsmExecutor = hsmExecutor;
    this.scheduler = scheduler;
    this.lifecycleExecutor = lifecycleExecutor;
    this.audit = audit;
    this.port = port;
  }

  public static Gateway start(GatewayConfig config) throws IOException, HsmException, InterruptedException {
    Clock clock = Clock.systemUTC();
    Instant started = clock.instant();
    // rotation and deletion dates; moved forward only in development mode, never the clock that checks signatures
    Clock lifecycleClock = config.devClockOffsetDays() == 0 ? clock
        : Clock.offset(clock, Duration.ofDays(config.devClockOffsetDays()));
    if (config.devClockOffsetDays() != 0) {
      LOG.warning(() -> "development: the lifecycle clock runs " + config.devClockOffsetDays() + " days ahead ("
          + lifecycleClock.instant() + ")");
    }
    SecretFiles.privateDirectory(config.dataDir());
    AdminCredentials.Resolved admin = AdminCredentials.resolve(config);

    int storeThreads = 4;
    ExecutorService storeExecutor = Executors.newFixedThreadPool(storeThreads, named("kmsgw-store"));
    String url = config.store().jdbcUrl() != null ? config.store().jdbcUrl() : StoreFactory.embeddedUrl(config.dataDir());
    String dbPassword = config.store().passwordFile() == null ? null : SecretFiles.firstLine(config.store().passwordFile());
    io.kmsgw.store.jdbc.JdbcMetadataStore jdbcStore = StoreFactory.open(url, config.store().username(), dbPassword,
        storeThreads);
    MetadataStore store = jdbcStore;
    // identities: the account roots from configuration, then users, roles and sessions from the store (their
    // secrets stay sealed until the default key store first connects, see afterConnect below)
    List<io.kmsgw.auth.AccessKey> roots = new ArrayList<>(List.of(admin.key()));
    for (GatewayConfig.Account a : config.accounts()) {
      roots.add(AdminCredentials.account(config, a));
    }
    Identities identities = new Identities(roots);
    IdentityStore identityStore = jdbcStore.identities();
    AtomicReference<IdentityLoader> identityLoader = new AtomicReference<>();
    KeyCache cache = new KeyCache();
    cache.loadAll(store.allKeys().stream().filter(k -> k.state() != KeyState.CREATING).toList());

    GatewayConfig.Hsm hsm = config.hsm();
    DevToken.Prepared dev = hsm.devToken() ? DevToken.prepare(config) : null;
    Supplier<char[]> pin = dev != null ? dev.pin() : pinSource(config);
    // one thread per session: a queued HSM call waits for a thread, never for a session
    ThreadPoolExecutor hsmExecutor = new ThreadPoolExecutor(hsm.poolSize(), hsm.poolSize(), 60, TimeUnit.SECONDS,
        new ArrayBlockingQueue<>(16_384), named("kmsgw-hsm"));
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(named("kmsgw-keystore"));
    ExecutorService lifecycleExecutor = Executors.newSingleThreadExecutor(named("kmsgw-lifecycle"));
    AtomicReference<KeyLifecycle> lifecycleRef = new AtomicReference<>();
    AtomicReference<CustomKeyStoreService> customRef = new AtomicReference<>();
    Pkcs11Connector connector = new Pkcs11Connector(new Pkcs11Options(hsm.library(), hsm.tokenLabel(), pin,
        hsm.poolSize(), Duration.ofMillis(hsm.borrowTimeoutMs()), Duration.ofMillis(hsm.validateAfterIdleMs()),
        hsm.gcmGeneralErrorOnTagMismatch(), hsm.sessionKeyCopies(), 1));
    // a Creating row is a killed CreateKey's unless this process's KeyService is making that key now (creation times
    // come from the lifecycle clock, which development mode moves, so they say nothing about which process wrote them)
    AtomicReference<KeyService> keysRef = new AtomicReference<>();
    Reconciler reconciler = new Reconciler(store, cache,
        k -> keysRef.get() != null && keysRef.get().isCreatingHere(k.keyId()));
    // after each connection of any store, before it counts as CONNECTED: store and HSM brought in line (a store's
    // cluster may have changed since its last connection), then destructions left pending
    BiConsumer<String, Hsm> afterConnect = (storeId, connected) -> {
      try {
        reconciler.reconcile(storeId, connected);
      } catch (HsmException | RuntimeException e) {
        LOG.warning(() -> "reconciliation of " + storeId + " failed, it runs again at the next connection: "
            + e.getMessage());
      }
      CustomKeyStoreService custom = customRef.get();
      if (custom != null) {
        custom.afterConnect(storeId, connected);
      }
    };
    AtomicBoolean firstConnection = new AtomicBoolean(true);
    HsmWorkers hsmWorkers = new HsmWorkers(hsmExecutor, Duration.ofMillis(hsm.borrowTimeoutMs()));
    AtomicReference<AuditSigningKey> auditKeyRef = new AtomicReference<>();
    KeyStoreConnection keyStore = new KeyStoreConnection(KeyRecord.DEFAULT_KEY_STORE, connector, scheduler,
        Duration.ofMillis(hsm.initialBackoffMs()), Duration.ofMillis(hsm.maxBackoffMs()), hsmWorkers, true,
        connected -> {
          afterConnect.accept(KeyRecord.DEFAULT_KEY_STORE, connected);
          // secret access keys and session secrets, before this store counts as CONNECTED (and /healthz as healthy)
          try {
            identityLoader.get().unseal(connected);
          } catch (HsmException | RuntimeException e) {
            LOG.warning(() -> "unsealing identity secrets failed, retried at the next connection: " + e.getMessage());
          }
          // the next scheduler turn, once this connection counts as CONNECTED: the audit signing key (digests wait
          // for it), due rotations and deletions, and (the first time) the custom key stores left connected, whose
          // PINs this store unseals
          scheduler.execute(() -> {
            try {
              auditKeyRef.get().initialise();
            } catch (RuntimeException e) {
              LOG.warning(() -> "audit: the signing key is not usable, digests wait for it: " + e.getMessage());
            }
            if (firstConnection.getAndSet(false) && customRef.get() != null) {
              customRef.get().connectWanted();
            }
            KeyLifecycle l = lifecycleRef.get();
            if (l != null) {
              l.runDueTasks();
            }
          });
        });
    KeyStores stores = new KeyStores(keyStore);
    AuditSigningKey auditKey = new AuditSigningKey(keyStore);
    auditKeyRef.set(auditKey);
    // before the HSM connects: events are written and chained at once, digests wait for the signing key
    AuditLog audit = openAudit(config, clock, auditKey);
    AuditRecorder recorder = new AuditRecorder(audit, clock, config.region(), config.accountId());
    keyStore.serviceEvents(recorder);

    SecretSealer identitySealer = SecretSealer.identities(stores);
    IdentityLoader loader = new IdentityLoader(identities, identityStore, identitySealer, lifecycleClock);
    loader.load();
    identityLoader.set(loader);
    // sessions expire by the lifecycle clock, which only development mode moves (to test expiry without waiting)
    IamService iam = new IamService(identities, identityStore, identitySealer, storeExecutor, lifecycleClock);
    StsService sts = new StsService(identities, iam, identityStore, identitySealer, lifecycleClock);

    KmsSettings settings = new KmsSettings(config.accountId(), config.region());
    KeyPolicies keyPolicies = new KeyPolicies();
    keyPolicies.load(store);
    Authorizer authz = new Authorizer(settings.accountId(), keyPolicies, identities, lifecycleClock);
    KeyService keys = new KeyService(settings, store, cache, stores, storeExecutor, lifecycleClock,
        config.keyQuota(), authz);
    keysRef.set(keys);
    CryptoService crypto = new CryptoService(keys, stores);
    AliasService aliases = new AliasService(settings, store, keys::lookup, stores, lifecycleExecutor,
        storeExecutor, lifecycleClock, authz);
    aliases.load();
    authz.aliases(aliases::namesOf);
    KeyLifecycle lifecycle = new KeyLifecycle(settings, store, cache, stores, lifecycleExecutor, lifecycleClock,
        aliases, authz);
    lifecycle.serviceEvents(recorder);
    lifecycleRef.set(lifecycle);
    GrantService grants = new GrantService(settings, store, keys, stores, authz, lifecycleExecutor, lifecycleClock,
        GrantService.DEFAULT_MAX_GRANTS_PER_KEY);
    grants.load();
    authz.grants(grants);

    Map<String, HsmDefinition> definitions = new LinkedHashMap<>();
    config.clusters().forEach(d -> definitions.put(d.id(), d));
    CustomKeyStoreService.ConnectionFactory factory = (storeId, clusterId, storePin) -> customConnection(storeId,
        definitions.get(clusterId), storePin, hsm, afterConnect).serviceEvents(recorder);
    CustomKeyStoreService customStores = new CustomKeyStoreService(settings, store, stores, definitions.keySet(),
        factory, new PinSealer(stores), lifecycleExecutor, storeExecutor, lifecycleClock);
    customStores.load();
    customRef.set(customStores);
    keyStore.connect();
    // and every minute after that
    scheduler.scheduleWithFixedDelay(() -> lifecycle.runDueTasks(), 60, 60, TimeUnit.SECONDS);
    // health checks of every connected store; a dead connection goes FAILED through its fatal-error listener
    scheduler.scheduleWithFixedDelay(() -> stores.all().forEach(KeyStoreConnection::probe),
        HEALTH_CHECK_SECONDS, HEALTH_CHECK_SECONDS, TimeUnit.SECONDS);

    KmsApi api = kmsApi(settings, keys, crypto, lifecycle, aliases, customStores, stores, authz, grants);
    SigV4Verifier verifier = new SigV4Verifier("kms", List.of(config.region()), identities, clock, lifecycleClock);
    // the AWS CLI and SDKs sign IAM and STS requests for us-east-1 (IAM's global region) or the configured region
    List<String> globalRegions = config.region().equals("us-east-1") ? List.of("us-east-1")
        : List.of(config.region(), "us-east-1");
    GatewayHttpServer.Query query = new GatewayHttpServer.Query(
        new QueryApi(IamActions.of(iam), StsActions.of(sts)),
        new SigV4Verifier("iam", globalRegions, identities, clock, lifecycleClock),
        new SigV4Verifier("sts", globalRegions, identities, clock, lifecycleClock));
    // CloudTrail's LookupEvents over the audit trail; CloudTrail is regional: signed for the configured region
    io.kmsgw.api.cloudtrail.CloudTrailApi cloudTrail = io.kmsgw.api.cloudtrail.CloudTrailApi.create(
        config.accountId(), config.region(), io.kmsgw.audit.AuditLookup.of(audit), identities,
        new SigV4Verifier(io.kmsgw.api.cloudtrail.CloudTrailApi.SIGNING_NAME, List.of(config.region()), identities,
            clock, lifecycleClock), clock);
    scheduler.scheduleWithFixedDelay(() -> sts.purgeExpired().exceptionally(e -> {
      LOG.warning(() -> "purging expired STS sessions failed: " + e.getMessage());
      return 0;
    }), 60, 60, TimeUnit.SECONDS);

    int eventLoops = Math.max(2, Runtime.getRuntime().availableProcessors());
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(eventLoops));
    GatewayConfig.Http http = config.http();
    GatewayHttpServer.Listen listen = new GatewayHttpServer.Listen(http.host(), http.port(), http.tlsCertificate(),
        http.tlsKey());
    Supplier<GatewayHttpServer.Health> health = () -> health(stores, customStores, cache, audit);
    GatewayConfig.Connections limits = http.connections();
    ConnectionGuard kmsConnections = new ConnectionGuard("kms", limits.idleTimeoutMs(), limits.requestTimeoutMs(),
        limits.maxConnections());
    HostNames hostNames = new HostNames(http.hostnames());
    XksSetup.Prepared xks = null;
    int xksPort = -1;
    try {
      xks = XksSetup.prepare(config, keys, aliases, stores, definitions, customStores::clusterOf, clock);
      if (xks != null) {
        xks.api().audit(recorder);
      }
      XksSetup.Prepared x = xks;
      // the health details show what DescribeCustomKeyStores shows and more: the same permission reads them
      HealthEndpoints.Access healthDetail = caller -> authz.onAccount(caller, "kms:DescribeCustomKeyStores", "*",
          null);
      vertx.deployVerticle(() -> x == null
                  ? new GatewayHttpServer(listen, verifier, api, health, query).audit(recorder).cloudTrail(cloudTrail)
                      .connections(kmsConnections).hostNames(hostNames).healthDetail(healthDetail)
                  : x.onMain(new GatewayHttpServer(listen, verifier, api, health, query).audit(recorder)
                      .cloudTrail(cloudTrail).connections(kmsConnections).hostNames(hostNames)
                      .healthDetail(healthDetail)),
              new DeploymentOptions().setInstances(eventLoops))
          .await(30, TimeUnit.SECONDS);
      if (x != null && x.listen() != null) {
        // the XKS listener of its own (TLS, mTLS): the XKS routes and /healthz (the status alone), no KMS API
        java.util.concurrent.atomic.AtomicReference<GatewayHttpServer> one = new java.util.concurrent.atomic.AtomicReference<>();
        ConnectionGuard xksConnections = new ConnectionGuard("xks", limits.idleTimeoutMs(),
            limits.requestTimeoutMs(), limits.maxConnections());
        vertx.deployVerticle(() -> {
              GatewayHttpServer s = new GatewayHttpServer(x.listen(), null, null, health).mount(x.api())
                  .configure(x.tls()).connections(xksConnections);
              one.compareAndSet(null, s);
              return s;
            }, new DeploymentOptions().setInstances(eventLoops))
            .await(30, TimeUnit.SECONDS);
        xksPort = one.get().actualPort();
      }
      ConnectionGuard.checkDescriptorLimit((long) limits.maxConnections()
          * (x != null && x.listen() != null ? 2 : 1));
    } catch (Exception e) {
      vertx.close();
      audit.close();
      stores.all().forEach(KeyStoreConnection::close);
      scheduler.shutdownNow();
      lifecycleExecutor.shutdownNow();
      hsmExecutor.shutdownNow();
      storeExecutor.shutdownNow();
      store.close();
      throw new ConfigException("cannot listen on " + http.endpoint() + ": " + e.getMessage(), e);
    }
    Gateway gateway = new Gateway(config, admin, dev, vertx, stores, store, cache, storeExecutor, hsmExecutor,
        scheduler, lifecycleExecutor, audit, http.port());
    gateway.xks = xks;
    gateway.xksPort = xksPort;
    return gateway;
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
    return xks == null ? List.of("no XKS endpoint is served; nothing to reload")
        : XksSetup.reloadCredentials(xks, fresh);
  }

  /** The audit trail, for the request path and the gateway's own service events. */
  public AuditLog audit() {
    return audit;
  }

  /** The KMS API with one handler per implemented operation. */
  static KmsApi kmsApi(KmsSettings settings, KeyService keys, CryptoService crypto, KeyLifecycle lifecycle,
      AliasService aliases, CustomKeyStoreService customStores, KeyStores stores, Authorizer authz,
      GrantService grants) {
    KeyIdResolver resolver = new KeyIdResolver(settings, aliases);
    KeyMetadataView view = new KeyMetadataView(keys, storeId -> customStores.clusterOf(storeId));
    List<io.kmsgw.api.kms.OperationHandler> handlers = new java.util.ArrayList<>(List.of(
        new CreateKeyHandler(keys, view),
        new DescribeKeyHandler(keys, resolver, view),
        new ListKeysHandler(keys),
        new EncryptHandler(crypto, resolver),
        new DecryptHandler(crypto, resolver),
        new ReEncryptHandler(crypto, resolver),
        new GenerateDataKeyHandler(crypto, resolver, true),
        new GenerateDataKeyHandler(crypto, resolver, false),
        new GenerateRandomHandler(crypto)));
    handlers.addAll(new LifecycleOperations(lifecycle, keys, resolver).handlers());
    handlers.addAll(new AliasOperations(aliases, resolver, settings).handlers());
    handlers.addAll(new GrantOperations(grants, resolver).handlers());
    handlers.addAll(new CustomKeyStoreOperations(customStores, stores, authz).handlers());
    return new KmsApi(ServiceModel.kms(), handlers);
  }

  private static Supplier<char[]> pinSource(GatewayConfig config) throws IOException, HsmException {
    GatewayConfig.Hsm hsm = config.hsm();
    if (hsm.pin() != null) {
      String pin = hsm.pin();
      return pin::toCharArray;
    }
    return filePin(hsm.pinFile());
  }

  /** Reads the PIN file at each login, so a PIN changed on disk is picked up at the next reconnect. */
  private static Supplier<char[]> filePin(Path file) {
    return () -> {
      try {
        return SecretFiles.firstLine(file).toCharArray();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read the PIN file " + file, e);
      }
    };
  }

  /**
   * The custom key store connection for an HSM definition: its own connector, worker pool (one thread per session)
   * and connecting thread, so that a slow or hung HSM holds up no other store.
   */
  private static KeyStoreConnection customConnection(String storeId, HsmDefinition def, Supplier<char[]> storePin,
      GatewayConfig.Hsm hsm, BiConsumer<String, Hsm> afterConnect) {
    HsmConnector connector = def != null ? new Pkcs11Connector(new Pkcs11Options(def.library(), def.tokenLabel(),
        storePin, def.poolSize(), Duration.ofMillis(def.borrowTimeoutMs()),
        Duration.ofMillis(def.validateAfterIdleMs()), def.gcmGeneralErrorOnTagMismatch(), def.sessionKeyCopies(),
        def.minHsms())) : new UndefinedCluster();
    int threads = def != null ? def.poolSize() : 1;
    ThreadPoolExecutor workers = new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS,
        new ArrayBlockingQueue<>(16_384), named("kmsgw-hsm-" + storeId));
    workers.allowCoreThreadTimeOut(true);
    ScheduledThreadPoolExecutor connecting = new ScheduledThreadPoolExecutor(1, named("kmsgw-keystore-" + storeId));
    connecting.setKeepAliveTime(60, TimeUnit.SECONDS);
    connecting.allowCoreThreadTimeOut(true);
    long borrow = def != null ? def.borrowTimeoutMs() : hsm.borrowTimeoutMs();
    return new KeyStoreConnection(storeId, connector, connecting, Duration.ofMillis(hsm.initialBackoffMs()),
        Duration.ofMillis(hsm.maxBackoffMs()), new HsmWorkers(workers, Duration.ofMillis(borrow)),
        def != null && def.autoReconnect(), connected -> afterConnect.accept(storeId, connected))
        .onClose(() -> {
          workers.shutdown();
          connecting.shutdown();
        });
  }

  /** A custom key store whose cluster the configuration no longer defines: connecting fails CLUSTER_NOT_FOUND. */
  private static final class UndefinedCluster implements HsmConnector {
    @Override
    public Hsm connect(FatalErrorListener listener) throws HsmException {
      throw new HsmException(HsmErrorKind.TOKEN_NOT_FOUND, "the configuration defines no such cluster");
    }

    @Override
    public void recover() {}

    @Override
    public String describe() {
      return "an undefined cluster";
    }
  }

  /**
   * The health document ({@code GET /healthz/detail}, for callers allowed {@code kms:DescribeCustomKeyStores}; the
   * anonymous {@code GET /healthz} shows only whether it is healthy): the default key store's state and pool, and
   * {@code keyStores}: every store (the default one first) with its state and pool, and {@code audit}: whether the
   * trail takes events, its failed writes and its slow ones ({@link AuditLog#health()}). Healthy (200) when the default store is CONNECTED and the audit trail takes events (without it
   * every KMS request is refused).
   */
  static GatewayHttpServer.Health health(KeyStores stores, CustomKeyStoreService customStores, KeyCache cache,
      AuditLog audit) {
    // the default key store at the top level (as before custom key stores), then every store
    KeyStoreConnection.Status main = stores.defaultStore().status();
    Map<String, Object> doc = storeHealth(main, null);
    doc.put("keys", cache.size());
    List<Map<String, Object>> all = new ArrayList<>();
    for (KeyStoreConnection c : stores.all()) {
      all.add(storeHealth(c.status(), customStores.find(c.id()).orElse(null)));
    }
    doc.put("keyStores", all);
    doc.put("audit", audit.health());
    return new GatewayHttpServer.Health(main.state() == KeyStoreConnection.State.CONNECTED && audit.writable(), doc);
  }

  private static Map<String, Object> storeHealth(KeyStoreConnection.Status s, CustomKeyStore custom) {
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("keyStore", s.keyStoreId());
    if (custom != null) {
      doc.put("name", custom.name());
      doc.put("cluster", custom.clusterId());
    }
    doc.put("state", s.state().name());
    doc.put("errorCode", s.errorCode());
    doc.put("message", s.message());
    HsmStats st = s.stats();
    if (st != null) {
      Map<String, Object> pool = new LinkedHashMap<>();
      pool.put("size", st.poolSize());
      pool.put("open", st.open());
      pool.put("inUse", st.inUse());
      pool.put("idle", st.idle());
      pool.put("waiting", st.waiting());
      pool.put("borrowTimeouts", st.borrowTimeouts());
      pool.put("evicted", st.evicted());
      doc.put("pool", pool);
      Map<String, Object> calls = new LinkedHashMap<>();
      calls.put("C_OpenSession", st.sessionsOpened());
      calls.put("C_Login", st.logins());
      calls.put("C_FindObjectsInit", st.findObjects());
      doc.put("pkcs11Calls", calls);
    }
    return doc;
  }

  private static ThreadFactory named(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  public GatewayConfig config() {
    return config;
  }

  AdminCredentials.Resolved admin() {
    return admin;
  }

  public int port() {
    return port;
  }

  /** The XKS API's wiring, or null when no XKS endpoint is configured. */
  XksSetup.Prepared xks() {
    return xks;
  }

  /** The port the XKS listener of its own bound, or -1 when XKS is served on the main listener. */
  int xksPort() {
    return xksPort;
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
      vertx.close().await(10, TimeUnit.SECONDS);
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
    scheduler.shutdownNow();
    lifecycleExecutor.shutdown();
    hsmExecutor.shutdown();
    storeExecutor.shutdown();
    try {
      lifecycleExecutor.awaitTermination(10, TimeUnit.SECONDS);
      hsmExecutor.awaitTermination(10, TimeUnit.SECONDS);
      storeExecutor.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    stores.all().forEach(KeyStoreConnection::close);
    scheduler.shutdownNow();
    store.close();
    LOG.info(() -> "stopped; " + cache.size() + " keys");
  }
}
