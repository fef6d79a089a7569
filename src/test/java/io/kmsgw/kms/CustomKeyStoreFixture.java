package io.kmsgw.kms;

import io.kmsgw.hsm.pkcs11.Pkcs11Connector;
import io.kmsgw.hsm.pkcs11.Pkcs11Options;
import io.kmsgw.keystore.HsmWorkers;
import io.kmsgw.keystore.KeyStoreConnection;
import io.kmsgw.keystore.PinSealer;
import io.kmsgw.testing.KmsFixture;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * A {@link CustomKeyStoreService} over a {@link KmsFixture}, whose stores reach real tokens through the adapter: the
 * caller says which PKCS#11 options a cluster's connection gets (its token, and the PIN the store unseals).
 */
final class CustomKeyStoreFixture implements AutoCloseable {
  /** The adapter's options for a store on this cluster, logging in with this PIN. */
  interface Options {
    Pkcs11Options of(String clusterId, Supplier<char[]> pin);
  }

  final CustomKeyStoreService service;
  private final ScheduledExecutorService connecting = Executors.newScheduledThreadPool(2);
  private final ExecutorService workers = Executors.newFixedThreadPool(4);

  CustomKeyStoreFixture(KmsFixture kms, Set<String> clusterIds, Options options) {
    AtomicReference<CustomKeyStoreService> self = new AtomicReference<>();
    CustomKeyStoreService.ConnectionFactory factory = (id, clusterId, pin) -> new KeyStoreConnection(id,
        new Pkcs11Connector(options.of(clusterId, pin)), connecting, Duration.ofMillis(50), Duration.ofMillis(200),
        new HsmWorkers(workers, Duration.ofSeconds(2)), false, hsm -> self.get().afterConnect(id, hsm));
    service = new CustomKeyStoreService(KmsFixture.SETTINGS, kms.store, kms.stores, clusterIds, factory,
        new PinSealer(kms.stores), kms.lifecycleExecutor, kms.storeExecutor, kms.clock);
    self.set(service);
    service.load();
  }

  @Override
  public void close() {
    connecting.shutdownNow();
    workers.shutdownNow();
  }
}
