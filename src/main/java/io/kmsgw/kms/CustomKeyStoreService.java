package io.kmsgw.kms;

import io.kmsgw.async.Completions;
import io.kmsgw.domain.Caller;
import io.kmsgw.domain.CustomKeyStore;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.hsm.Hsm;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.keystore.KeyStoreConnection;
import io.kmsgw.keystore.KeyStores;
import io.kmsgw.keystore.PinSealer;
import io.kmsgw.store.MetadataStore;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * Custom key stores of type AWS_CLOUDHSM, with AWS's states and errors: each names an HSM definition of the
 * configuration (its cluster id) and holds the crypto user's PIN sealed ({@link PinSealer}). Connecting is
 * asynchronous ({@code CONNECTING} then {@code CONNECTED} or {@code FAILED}); a FAILED store is recovered by
 * Disconnect then Connect. A store an operator connected is connected again after a restart.
 *
 * <p>Changes run on the lifecycle thread, with the key changes.
 */
public final class CustomKeyStoreService {
  private static final Logger LOG = Logger.getLogger(CustomKeyStoreService.class.getName());
  /** AWS KMS quota: custom key stores per account and Region. */
  public static final int MAX_STORES = 10;
  /** How long DisconnectCustomKeyStore waits for the sessions to close before it answers. */
  static final java.time.Duration DISCONNECT_WAIT = java.time.Duration.ofSeconds(10);
  private static final String ID_ALPHABET = "0123456789abcdef";
  private static final SecureRandom RANDOM = new SecureRandom();

  /** Builds the connection of a custom key store to its HSM definition. */
  @FunctionalInterface
  public interface ConnectionFactory {
    /**
     * @param pin unseals the PIN at each login (the caller wipes each copy)
     */
    KeyStoreConnection create(String keyStoreId, String clusterId, Supplier<char[]> pin);
  }

  private final KmsSettings settings;
  private final MetadataStore store;
  private final KeyStores stores;
  private final Set<String> clusterIds;
  private final ConnectionFactory factory;
  private final PinSealer sealer;
  private final Executor lifecycle;
  private final Executor storeExecutor;
  private final Clock clock;
  private final java.util.concurrent.ConcurrentHashMap<String, CustomKeyStore> byId =
      new java.util.concurrent.ConcurrentHashMap<>();

  public CustomKeyStoreService(KmsSettings settings, MetadataStore store, KeyStores stores, Set<String> clusterIds,
      ConnectionFactory factory, PinSealer sealer, Executor lifecycle, Executor storeExecutor, Clock clock) {
    this.settings = settings;
    this.store = store;
    this.stores = stores;
    this.clusterIds = clusterIds;
    this.factory = factory;
    this.sealer = sealer;
    this.lifecycle = lifecycle;
    this.storeExecutor = storeExecutor;
    this.clock = clock;
  }

  /** At start: a connection (DISCONNECTED) for every custom key store. */
  public void load() {
    for (CustomKeyStore cks : store.customKeyStores(settings.accountId())) {
      byId.put(cks.id(), cks);
      stores.putCustom(connection(cks));
    }
  }

  /**
   * Connects again the stores an operator left connected, once the default key store (which unseals their PINs)
   * is connected.
   */
  public void connectWanted() {
    for (CustomKeyStore cks : byId.values()) {
      if (!cks.connectWanted()) {
        continue;
      }
      if (!clusterIds.contains(cks.clusterId())) {
        LOG.warning(() -> "custom key store " + cks.id() + " uses " + cks.clusterId()
            + ", which the configuration no longer defines; it will be FAILED with CLUSTER_NOT_FOUND");
      }
      stores.custom(cks.id()).ifPresent(KeyStoreConnection::connect);
    }
  }

  private KeyStoreConnection connection(CustomKeyStore cks) {
    String id = cks.id();
    return factory.create(id, cks.clusterId(), () -> sealer.unseal(id, byId.get(id).sealedPin()));
  }

  /** The custom key store, if it exists. */
  public Optional<CustomKeyStore> find(String keyStoreId) {
    return Optional.ofNullable(byId.get(keyStoreId));
  }

  /** The cluster a key store uses, for DescribeKey. */
  public String clusterOf(String keyStoreId) {
    CustomKeyStore cks = byId.get(keyStoreId);
    return cks == null ? null : cks.clusterId();
  }

  private CustomKeyStore existing(String keyStoreId) {
    CustomKeyStore cks = byId.get(keyStoreId);
    if (cks == null) {
      throw new KmsException(ErrorCode.CUSTOM_KEY_STORE_NOT_FOUND,
          "Custom key store " + keyStoreId + " does not exist.");
    }
    return cks;
  }

  private void checkCluster(String clusterId, String exceptStoreId) {
    if (!clusterIds.contains(clusterId)) {
      throw new KmsException(ErrorCode.CLOUD_HSM_CLUSTER_NOT_FOUND, "No HSM definition has the id " + clusterId
          + "; the clusters: section of the configuration defines them.");
    }
    for (CustomKeyStore other : byId.values()) {
      if (other.clusterId().equals(clusterId) && !other.id().equals(exceptStoreId)) {
        throw new KmsException(ErrorCode.CLOUD_HSM_CLUSTER_IN_USE, clusterId + " is already used by custom key store "
            + other.id() + ".");
      }
    }
  }

  /**
   * The trust anchor must be one PEM X.509 certificate. A vendor's PKCS#11 client holds its own trust settings,
   * so the certificate is kept (and shown) but not used to open the connection.
   */
  private static void checkTrustAnchor(String trustAnchor) {
    String pem = trustAnchor == null ? "" : trustAnchor.strip();
    boolean ok = pem.startsWith("-----BEGIN CERTIFICATE-----") && pem.endsWith("-----END CERTIFICATE-----");
    if (ok) {
      try {
        java.util.Collection<? extends java.security.cert.Certificate> certs =
            java.security.cert.CertificateFactory.getInstance("X.509").generateCertificates(
                new java.io.ByteArrayInputStream(pem.getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
        ok = certs.size() == 1;
      } catch (java.security.cert.CertificateException e) {
        ok = false;
      }
    }
    if (!ok) {
      throw new KmsException(ErrorCode.INCORRECT_TRUST_ANCHOR, "TrustAnchorCertificate must be one PEM-encoded X.509 "
          + "certificate (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----), the trust anchor of the "
          + "cluster.");
    }
  }

  /** CreateCustomKeyStore (AWS_CLOUDHSM): the store is created DISCONNECTED. */
  public CompletableFuture<CustomKeyStore> create(Caller caller, String name, String clusterId, String trustAnchor,
      char[] password, String type) {
    try {
      if (type != null && !"AWS_CLOUDHSM".equals(type)) {
        throw new KmsException(ErrorCode.UNSUPPORTED_OPERATION,
            "Custom key stores of type " + type + " are not supported; kmsgw offers AWS_CLOUDHSM key stores.");
      }
      if (clusterId == null || password == null) {
        throw KmsException.validation("An AWS_CLOUDHSM key store needs CloudHsmClusterId, TrustAnchorCertificate and "
            + "KeyStorePassword.");
      }
      checkTrustAnchor(trustAnchor);
    } catch (RuntimeException e) {
      if (password != null) {
        Arrays.fill(password, '\0');
      }
      throw e;
    }
    return Completions.on(lifecycle, () -> {
      try {
        if (byId.size() >= MAX_STORES) {
          throw new KmsException(ErrorCode.LIMIT_EXCEEDED,
              "An account may have at most " + MAX_STORES + " custom key stores.");
        }
        checkCluster(clusterId, null);
        String id = newId();
        CustomKeyStore cks = new CustomKeyStore(id, settings.accountId(), name, clusterId, trustAnchor.strip(),
            sealer.seal(id, password), now(), false);
        if (!store.insertCustomKeyStore(cks)) {
          throw new KmsException(ErrorCode.CUSTOM_KEY_STORE_NAME_IN_USE,
              "A custom key store named " + name + " already exists.");
        }
        byId.put(id, cks);
        stores.putCustom(connection(cks));
        LOG.info(() -> "custom key store " + id + " (" + name + ") created on " + clusterId + " by " + caller.arn());
        return cks;
      } finally {
        Arrays.fill(password, '\0');
      }
    });
  }

  /**
   * ConnectCustomKeyStore: returns at once; the state goes CONNECTING, then CONNECTED or FAILED (a cluster the
   * configuration no longer defines is FAILED with CLUSTER_NOT_FOUND). Connecting a FAILED or DISCONNECTING store
   * is CustomKeyStoreInvalidStateException, as AWS.
   */
  public CompletableFuture<Void> connect(Caller caller, String keyStoreId) {
    return Completions.on(lifecycle, () -> {
      CustomKeyStore cks = existing(keyStoreId);
      KeyStoreConnection c = stores.of(keyStoreId);
      KeyStoreConnection.State state = c.status().state();
      if (state == KeyStoreConnection.State.FAILED || state == KeyStoreConnection.State.DISCONNECTING) {
        throw new KmsException(ErrorCode.CUSTOM_KEY_STORE_INVALID_STATE, "The custom key store " + keyStoreId
            + " is " + state + (c.status().errorCode() == null ? "" : " (" + c.status().errorCode() + ")")
            + ": disconnect it, then connect it again.");
      }
      if (!cks.connectWanted()) {
        CustomKeyStore wanted = cks.with(cks.name(), cks.clusterId(), cks.sealedPin(), true);
        store.updateCustomKeyStore(wanted);
        byId.put(keyStoreId, wanted);
      }
      c.connect();
      LOG.info(() -> "custom key store " + keyStoreId + ": connect requested by " + caller.arn());
      return null;
    });
  }

  /**
   * DisconnectCustomKeyStore: its keys become Unavailable. The sessions are closed on the store's own thread, so a
   * hung HSM does not hold up the lifecycle thread; the call answers once the store is DISCONNECTED, or after
   * {@link #DISCONNECT_WAIT} with the store still DISCONNECTING. Disconnecting a disconnected store changes nothing.
   */
  public CompletableFuture<Void> disconnect(Caller caller, String keyStoreId) {
    return Completions.on(lifecycle, () -> {
      CustomKeyStore cks = existing(keyStoreId);
      if (cks.connectWanted()) {
        CustomKeyStore unwanted = cks.with(cks.name(), cks.clusterId(), cks.sealedPin(), false);
        store.updateCustomKeyStore(unwanted);
        byId.put(keyStoreId, unwanted);
      }
      LOG.info(() -> "custom key store " + keyStoreId + ": disconnect requested by " + caller.arn());
      return stores.of(keyStoreId).disconnect();
    }).thenCompose(closing -> closing.completeOnTimeout(null, DISCONNECT_WAIT.toMillis(),
        java.util.concurrent.TimeUnit.MILLISECONDS));
  }

  /**
   * UpdateCustomKeyStore: a new name at any time; a new password or cluster only while DISCONNECTED, as AWS.
   * Whether a new cluster holds this store's keys is seen at its next connection (reconciliation reports keys whose
   * material it lacks).
   */
  public CompletableFuture<CustomKeyStore> update(Caller caller, String keyStoreId, String newName, char[] password,
      String clusterId) {
    return Completions.on(lifecycle, () -> {
      try {
        CustomKeyStore cks = existing(keyStoreId);
        KeyStoreConnection.State state = stores.of(keyStoreId).status().state();
        if ((password != null || clusterId != null) && state != KeyStoreConnection.State.DISCONNECTED) {
          throw new KmsException(ErrorCode.CUSTOM_KEY_STORE_INVALID_STATE, "The password and the cluster of "
              + keyStoreId + " can change only while it is DISCONNECTED; it is " + state + ".");
        }
        if (clusterId != null && !clusterId.equals(cks.clusterId())) {
          checkCluster(clusterId, keyStoreId);
        }
        CustomKeyStore updated = cks.with(newName != null ? newName : cks.name(),
            clusterId != null ? clusterId : cks.clusterId(),
            password != null ? sealer.seal(keyStoreId, password) : cks.sealedPin(), cks.connectWanted());
        if (!store.updateCustomKeyStore(updated)) {
          throw new KmsException(ErrorCode.CUSTOM_KEY_STORE_NAME_IN_USE,
              "A custom key store named " + newName + " already exists.");
        }
        byId.put(keyStoreId, updated);
        if (clusterId != null && !clusterId.equals(cks.clusterId())) {
          // a new connection object for the new HSM definition
          stores.custom(keyStoreId).ifPresent(KeyStoreConnection::close);
          stores.putCustom(connection(updated));
        }
        return updated;
      } finally {
        if (password != null) {
          Arrays.fill(password, '\0');
        }
      }
    });
  }

  /** DeleteCustomKeyStore: only DISCONNECTED and with no keys (those pending deletion included), as AWS. */
  public CompletableFuture<Void> delete(Caller caller, String keyStoreId) {
    return Completions.on(lifecycle, () -> {
      existing(keyStoreId);
      KeyStoreConnection.State state = stores.of(keyStoreId).status().state();
      if (state != KeyStoreConnection.State.DISCONNECTED) {
        throw new KmsException(ErrorCode.CUSTOM_KEY_STORE_INVALID_STATE, "Only a DISCONNECTED custom key store can "
            + "be deleted; " + keyStoreId + " is " + state + ".");
      }
      int keys = store.countKeysInStore(keyStoreId);
      if (keys > 0) {
        throw new KmsException(ErrorCode.CUSTOM_KEY_STORE_HAS_CMKS, "The custom key store " + keyStoreId + " still has "
            + keys + " KMS keys; delete them (ScheduleKeyDeletion) and wait for their deletion first.");
      }
      int left = store.pendingDestruction(keyStoreId).size();
      if (left > 0) {
        LOG.warning(() -> "custom key store " + keyStoreId + ": " + left + " HSM objects of deleted keys were never "
            + "destroyed (the store was not connected again); they stay in the HSM");
      }
      store.deleteCustomKeyStore(keyStoreId);
      byId.remove(keyStoreId);
      stores.custom(keyStoreId).ifPresent(KeyStoreConnection::close);
      stores.removeCustom(keyStoreId);
      LOG.info(() -> "custom key store " + keyStoreId + " deleted by " + caller.arn());
      return null;
    });
  }

  /** Every custom key store, ordered by id (DescribeCustomKeyStores filters and pages in the API layer). */
  public CompletableFuture<List<CustomKeyStore>> list(Caller caller) {
    return Completions.on(storeExecutor, () -> store.customKeyStores(settings.accountId()));
  }

  /**
   * After each connection of a key store, before it counts as CONNECTED: destroys the HSM objects of keys deleted
   * while it was not connected.
   */
  public void afterConnect(String keyStoreId, Hsm hsm) {
    Map<String, byte[]> pending = store.pendingDestruction(keyStoreId);
    for (Map.Entry<String, byte[]> e : pending.entrySet()) {
      HsmKey object = new HsmKey(e.getKey(), e.getValue());
      try {
        hsm.withSession(s -> {
          s.destroy(object);
          return null;
        });
        store.destroyed(keyStoreId, e.getKey());
        LOG.info(() -> "key store " + keyStoreId + ": destroyed " + object.label() + ", of a key deleted while the "
            + "store was not connected");
      } catch (HsmException ex) {
        LOG.warning(() -> "key store " + keyStoreId + ": could not destroy " + object.label() + " yet: "
            + ex.getMessage());
      }
    }
  }

  private Instant now() {
    return clock.instant().truncatedTo(ChronoUnit.MILLIS);
  }

  /** {@code cks-} and 17 hexadecimal digits, as AWS's ids look. */
  private static String newId() {
    StringBuilder sb = new StringBuilder("cks-");
    for (int i = 0; i < 17; i++) {
      sb.append(ID_ALPHABET.charAt(RANDOM.nextInt(ID_ALPHABET.length())));
    }
    return sb.toString();
  }
}
