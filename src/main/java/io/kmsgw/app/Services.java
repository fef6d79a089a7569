package io.kmsgw.app;

import io.kmsgw.config.GatewayConfig;
import io.kmsgw.iam.IamService;
import io.kmsgw.iam.Identities;
import io.kmsgw.iam.IdentityLoader;
import io.kmsgw.iam.StsService;
import io.kmsgw.keystore.KeyStores;
import io.kmsgw.keystore.PinSealer;
import io.kmsgw.keystore.SecretSealer;
import io.kmsgw.kms.AliasService;
import io.kmsgw.kms.Authorizer;
import io.kmsgw.kms.CryptoService;
import io.kmsgw.kms.PublicKeys;
import io.kmsgw.kms.CustomKeyStoreService;
import io.kmsgw.kms.DataKeyPairService;
import io.kmsgw.kms.GrantService;
import io.kmsgw.kms.KeyCache;
import io.kmsgw.kms.KeyLifecycle;
import io.kmsgw.kms.KeyPolicies;
import io.kmsgw.kms.KeyService;
import io.kmsgw.kms.KmsSettings;
import io.kmsgw.kms.Reconciler;
import io.kmsgw.store.IdentityStore;
import io.kmsgw.store.MetadataStore;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The operations behind the APIs, built in dependency order over the key stores and the metadata store: IAM and
 * STS over the identities, then the key operations (keys, crypto, aliases, lifecycle, grants, custom key stores)
 * with their authorizer, and the reconciler that brings a store and its HSM in line at each connection.
 */
final class Services {
  private static final Logger LOG = Logger.getLogger(Gateway.class.getName());

  final IdentityLoader identityLoader;
  final IamService iam;
  final StsService sts;
  final KmsSettings settings;
  final Authorizer authz;
  final KeyService keys;
  final CryptoService crypto;
  final PublicKeys publicKeys;
  final DataKeyPairService dataKeyPairs;
  final AliasService aliases;
  final KeyLifecycle lifecycle;
  final GrantService grants;
  final CustomKeyStoreService customStores;
  final Reconciler reconciler;
  final io.kmsgw.kms.ImportService imports;

  /**
   * Loads what the services keep in memory (identities, key policies, aliases, grants, custom key stores) from the
   * metadata store; connects nothing.
   */
  Services(GatewayConfig config, Clocks clocks, Workers workers, MetadataStore store, IdentityStore identityStore,
      io.kmsgw.store.ImportStore importStore, Identities identities, KeyCache cache, KeyStoreWiring keyStores,
      AuditRecorder recorder) {
    KeyStores stores = keyStores.stores();
    // identity secrets stay sealed until the default key store first connects (AfterConnect)
    SecretSealer identitySealer = SecretSealer.identities(stores);
    identityLoader = new IdentityLoader(identities, identityStore, identitySealer, clocks.lifecycle());
    identityLoader.load();
    // sessions expire by the lifecycle clock, which only development mode moves (to test expiry without waiting)
    iam = new IamService(identities, identityStore, identitySealer, workers.store(), clocks.lifecycle());
    sts = new StsService(identities, iam, identityStore, identitySealer, clocks.lifecycle());

    settings = new KmsSettings(config.accountId(), config.region());
    KeyPolicies keyPolicies = new KeyPolicies();
    keyPolicies.load(store);
    authz = new Authorizer(settings.accountId(), keyPolicies, identities, clocks.lifecycle());
    keys = new KeyService(settings, store, cache, stores, workers.store(), clocks.lifecycle(), config.keyQuota(),
        authz);
    publicKeys = new PublicKeys(keys, stores, workers.publicKeyWork());
    crypto = new CryptoService(keys, stores, publicKeys);
    dataKeyPairs = new DataKeyPairService(crypto, workers.compute());
    aliases = new AliasService(settings, store, keys::lookup, stores, workers.lifecycle(), workers.store(),
        clocks.lifecycle(), authz);
    aliases.load();
    // the authorizer and the alias and grant services need each other: the authorizer learns of them last
    authz.aliases(aliases::namesOf);
    lifecycle = new KeyLifecycle(settings, store, cache, stores, workers.lifecycle(), clocks.lifecycle(), aliases,
        authz);
    lifecycle.serviceEvents(recorder);
    grants = new GrantService(settings, store, keys, stores, authz, workers.lifecycle(), clocks.lifecycle(),
        GrantService.DEFAULT_MAX_GRANTS_PER_KEY);
    grants.load();
    authz.grants(grants);

    customStores = new CustomKeyStoreService(settings, store, stores, keyStores.definitions().keySet(),
        keyStores.customConnections(recorder), new PinSealer(stores), workers.lifecycle(), workers.store(),
        clocks.lifecycle());
    customStores.load();
    // a Creating row is a killed CreateKey's unless this process's KeyService is making that key now (creation
    // times come from the lifecycle clock, which development mode moves, so they say nothing about which process
    // wrote them)
    imports = new io.kmsgw.kms.ImportService(keys, stores, importStore, cache, workers.store(), clocks.lifecycle());
    imports.load();
    reconciler = new Reconciler(store, cache, k -> keys.isCreatingHere(k.keyId()));
  }

  /** The work AfterConnect does with these services. */
  AfterConnect.Work afterConnect(KeyStoreWiring keyStores) {
    return new AfterConnect.Work(reconciler, identityLoader, keyStores.auditKey(), customStores, lifecycle);
  }

  /** Due rotations and deletions, every minute. */
  void scheduleLifecycle(Workers workers) {
    workers.scheduler().scheduleWithFixedDelay(() -> lifecycle.runDueTasks(), 60, 60, TimeUnit.SECONDS);
    // imported material past its ValidTo, and wrapping keys past theirs
    workers.scheduler().scheduleWithFixedDelay(() -> imports.expireDue().exceptionally(e -> {
      LOG.warning(() -> "expiring imported key material failed: " + e.getMessage());
      return 0;
    }), 60, 60, TimeUnit.SECONDS);
  }

  /** The purge of expired STS sessions, every minute. */
  void scheduleSessionPurge(Workers workers) {
    workers.scheduler().scheduleWithFixedDelay(() -> sts.purgeExpired().exceptionally(e -> {
      LOG.warning(() -> "purging expired STS sessions failed: " + e.getMessage());
      return 0;
    }), 60, 60, TimeUnit.SECONDS);
  }
}
