package io.kmsgw.app;

import io.kmsgw.config.GatewayConfig;
import io.kmsgw.config.HsmDefinition;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.ServiceEvents;
import io.kmsgw.hsm.Hsm;
import io.kmsgw.hsm.HsmConnector;
import io.kmsgw.hsm.HsmConnectorFactory;
import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.keystore.AuditSigningKey;
import io.kmsgw.keystore.HsmWorkers;
import io.kmsgw.keystore.KeyStoreConnection;
import io.kmsgw.keystore.KeyStores;
import io.kmsgw.kms.CustomKeyStoreService;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The key stores: the default one on the configured HSM ({@code hsm:}) and the connections of custom key stores on
 * the configured clusters ({@code clusters:}), each with a connector from the one {@link HsmConnectorFactory}, its
 * own worker pool and its connecting thread. Nothing connects here: the default store connects once the services
 * are bound to {@link AfterConnect}.
 */
final class KeyStoreWiring {
  /** Seconds between health checks of each connected key store. */
  static final long HEALTH_CHECK_SECONDS = 30;

  private final GatewayConfig.Hsm hsm;
  private final HsmConnectorFactory connectors;
  private final AfterConnect afterConnect;
  private final Map<String, HsmDefinition> definitions = new LinkedHashMap<>();
  private final DevToken.Prepared dev;
  private final KeyStoreConnection defaultStore;
  private final KeyStores stores;
  private final AuditSigningKey auditKey;

  /**
   * @param afterConnect the work after each connection of any store (bound to the services later, before the
   *     first connection)
   */
  KeyStoreWiring(GatewayConfig config, HsmConnectorFactory connectors, Workers workers, AfterConnect afterConnect)
      throws IOException, HsmException {
    this.hsm = config.hsm();
    this.connectors = connectors;
    this.afterConnect = afterConnect;
    config.clusters().forEach(d -> definitions.put(d.id(), d));
    this.dev = hsm.devToken() ? DevToken.prepare(config) : null;
    NssDatabase.prepare(hsm);
    Supplier<char[]> pin = dev != null ? dev.pin() : pinSource(hsm);
    this.defaultStore = new KeyStoreConnection(KeyRecord.DEFAULT_KEY_STORE, connectors.create(hsm, pin),
        workers.scheduler(), Duration.ofMillis(hsm.initialBackoffMs()), Duration.ofMillis(hsm.maxBackoffMs()),
        new HsmWorkers(workers.hsm(), Duration.ofMillis(hsm.borrowTimeoutMs()),
            Duration.ofMillis(hsm.callTimeoutMs())), true,
        connected -> afterConnect.defaultStore(KeyRecord.DEFAULT_KEY_STORE, connected));
    this.stores = new KeyStores(defaultStore);
    this.auditKey = new AuditSigningKey(defaultStore);
  }

  /** The HSM definitions a custom key store can use, by cluster id, in configuration order. */
  Map<String, HsmDefinition> definitions() {
    return definitions;
  }

  /** The development tokens' PIN source, or null outside development mode. */
  DevToken.Prepared dev() {
    return dev;
  }

  KeyStoreConnection defaultStore() {
    return defaultStore;
  }

  KeyStores stores() {
    return stores;
  }

  /** The audit trail's digest signing key, on the default key store. */
  AuditSigningKey auditKey() {
    return auditKey;
  }

  /** Health checks of every connected store; a dead connection goes FAILED through its fatal-error listener. */
  void scheduleHealthChecks(Workers workers) {
    workers.scheduler().scheduleWithFixedDelay(() -> stores.all().forEach(KeyStoreConnection::probe),
        HEALTH_CHECK_SECONDS, HEALTH_CHECK_SECONDS, TimeUnit.SECONDS);
  }

  /** How CustomKeyStoreService makes the connection of a custom key store; its state changes go to events. */
  CustomKeyStoreService.ConnectionFactory customConnections(ServiceEvents events) {
    return (storeId, clusterId, storePin) -> customConnection(storeId, definitions.get(clusterId), storePin)
        .serviceEvents(events);
  }

  /**
   * The custom key store connection for an HSM definition: its own connector, worker pool (one thread per session)
   * and connecting thread, so that a slow or hung HSM holds up no other store.
   */
  private KeyStoreConnection customConnection(String storeId, HsmDefinition def, Supplier<char[]> storePin) {
    HsmConnector connector = def != null ? connectors.create(def, storePin) : new UndefinedCluster();
    int threads = def != null ? def.poolSize() : 1;
    ThreadPoolExecutor workers = new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS,
        new ArrayBlockingQueue<>(16_384), Workers.named("kmsgw-hsm-" + storeId));
    workers.allowCoreThreadTimeOut(true);
    ScheduledThreadPoolExecutor connecting = new ScheduledThreadPoolExecutor(1,
        Workers.named("kmsgw-keystore-" + storeId));
    connecting.setKeepAliveTime(60, TimeUnit.SECONDS);
    connecting.allowCoreThreadTimeOut(true);
    long borrow = def != null ? def.borrowTimeoutMs() : hsm.borrowTimeoutMs();
    long call = def != null ? def.callTimeoutMs() : hsm.callTimeoutMs();
    return new KeyStoreConnection(storeId, connector, connecting, Duration.ofMillis(hsm.initialBackoffMs()),
        Duration.ofMillis(hsm.maxBackoffMs()), new HsmWorkers(workers, Duration.ofMillis(borrow), Duration.ofMillis(call)),
        def != null && def.autoReconnect(), connected -> afterConnect.anyStore(storeId, connected))
        .onClose(() -> {
          workers.shutdown();
          connecting.shutdown();
        });
  }

  private static Supplier<char[]> pinSource(GatewayConfig.Hsm hsm) {
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
}
