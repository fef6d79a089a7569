package io.kmsgw.app;

import io.kmsgw.api.cloudtrail.CloudTrailApi;
import io.kmsgw.api.http.ConnectionGuard;
import io.kmsgw.api.http.GatewayHttpServer;
import io.kmsgw.api.http.HealthEndpoints;
import io.kmsgw.api.http.HostNames;
import io.kmsgw.api.iam.IamActions;
import io.kmsgw.api.iam.QueryApi;
import io.kmsgw.api.iam.StsActions;
import io.kmsgw.api.kms.KeyIdResolver;
import io.kmsgw.api.kms.KmsApi;
import io.kmsgw.api.kms.OperationHandler;
import io.kmsgw.api.kms.model.ServiceModel;
import io.kmsgw.api.kms.ops.AliasOperations;
import io.kmsgw.api.kms.ops.CreateKeyHandler;
import io.kmsgw.api.kms.ops.CustomKeyStoreOperations;
import io.kmsgw.api.kms.ops.DecryptHandler;
import io.kmsgw.api.kms.ops.DeriveSharedSecretHandler;
import io.kmsgw.api.kms.ops.DescribeKeyHandler;
import io.kmsgw.api.kms.ops.EncryptHandler;
import io.kmsgw.api.kms.ops.GenerateDataKeyHandler;
import io.kmsgw.api.kms.ops.GenerateDataKeyPairHandler;
import io.kmsgw.api.kms.ops.GenerateRandomHandler;
import io.kmsgw.api.kms.ops.GetPublicKeyHandler;
import io.kmsgw.api.kms.ops.GrantOperations;
import io.kmsgw.api.kms.ops.KeyMetadataView;
import io.kmsgw.api.kms.ops.LifecycleOperations;
import io.kmsgw.api.kms.ops.ListKeysHandler;
import io.kmsgw.api.kms.ops.MacOperations;
import io.kmsgw.api.kms.ops.ReEncryptHandler;
import io.kmsgw.api.kms.ops.SigningOperations;
import io.kmsgw.audit.AuditLog;
import io.kmsgw.audit.AuditLookup;
import io.kmsgw.auth.SigV4Verifier;
import io.kmsgw.config.GatewayConfig;
import io.kmsgw.iam.Identities;
import io.kmsgw.keystore.KeyStores;
import io.kmsgw.kms.AgreementService;
import io.kmsgw.kms.AliasService;
import io.kmsgw.kms.Authorizer;
import io.kmsgw.kms.CryptoService;
import io.kmsgw.kms.PublicKeys;
import io.kmsgw.kms.CustomKeyStoreService;
import io.kmsgw.kms.DataKeyPairService;
import io.kmsgw.kms.GrantService;
import io.kmsgw.kms.KeyCache;
import io.kmsgw.kms.KeyLifecycle;
import io.kmsgw.kms.KeyService;
import io.kmsgw.kms.KmsSettings;
import io.kmsgw.kms.MacService;
import io.kmsgw.kms.SigningService;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * The HTTP side: the KMS, IAM, STS and CloudTrail APIs with their SigV4 verifiers, one server per event loop on the
 * main listener, and the XKS API on the main listener or on one of its own.
 */
final class HttpWiring {
  private HttpWiring() {}

  /**
   * What is listening.
   *
   * @param xks the XKS API's wiring (endpoints, listener, development credential), or null
   * @param xksPort the port XKS's own listener bound, or -1 when XKS is served on the main listener
   */
  record Listening(Vertx vertx, XksSetup.Prepared xks, int xksPort) {}

  /** The KMS API with one handler per implemented operation. */
  static KmsApi kmsApi(KmsSettings settings, KeyService keys, CryptoService crypto, KeyLifecycle lifecycle,
      AliasService aliases, CustomKeyStoreService customStores, KeyStores stores, Authorizer authz,
      GrantService grants, PublicKeys publicKeys, DataKeyPairService dataKeyPairs) {
    KeyIdResolver resolver = new KeyIdResolver(settings, aliases);
    KeyMetadataView view = new KeyMetadataView(keys, storeId -> customStores.clusterOf(storeId));
    List<OperationHandler> handlers = new ArrayList<>(List.of(
        new CreateKeyHandler(keys, view),
        new DescribeKeyHandler(keys, resolver, view),
        new ListKeysHandler(keys),
        new EncryptHandler(crypto, resolver),
        new DecryptHandler(crypto, resolver),
        new ReEncryptHandler(crypto, resolver),
        new GenerateDataKeyHandler(crypto, resolver, true),
        new GenerateDataKeyHandler(crypto, resolver, false),
        new GenerateRandomHandler(crypto),
        new GetPublicKeyHandler(publicKeys, resolver)));
    handlers.add(new GenerateDataKeyPairHandler(dataKeyPairs, resolver, true));
    handlers.add(new GenerateDataKeyPairHandler(dataKeyPairs, resolver, false));
    handlers.addAll(new LifecycleOperations(lifecycle, keys, resolver).handlers());
    handlers.addAll(new AliasOperations(aliases, resolver, settings).handlers());
    handlers.addAll(new GrantOperations(grants, resolver).handlers());
    handlers.addAll(new CustomKeyStoreOperations(customStores, stores, authz).handlers());
    handlers.addAll(new MacOperations(new MacService(keys, stores), resolver).handlers());
    handlers.add(new DeriveSharedSecretHandler(new AgreementService(keys, stores), resolver));
    handlers.addAll(new SigningOperations(new SigningService(keys, stores, publicKeys), resolver).handlers());
    return new KmsApi(ServiceModel.kms(), handlers);
  }

  /** The APIs and what the main listener's servers share. */
  private record Apis(KmsApi kms, SigV4Verifier kmsVerifier, GatewayHttpServer.Query query, CloudTrailApi cloudTrail) {
    static Apis of(GatewayConfig config, Clocks clocks, Identities identities, Services s, KeyStores stores,
        AuditLog audit) {
      KmsApi api = kmsApi(s.settings, s.keys, s.crypto, s.lifecycle, s.aliases, s.customStores, stores, s.authz,
          s.grants, s.publicKeys, s.dataKeyPairs);
      SigV4Verifier verifier = new SigV4Verifier("kms", List.of(config.region()), identities, clocks.clock(),
          clocks.lifecycle());
      // the AWS CLI and SDKs sign IAM and STS requests for us-east-1 (IAM's global region) or the configured region
      List<String> globalRegions = config.region().equals("us-east-1") ? List.of("us-east-1")
          : List.of(config.region(), "us-east-1");
      GatewayHttpServer.Query query = new GatewayHttpServer.Query(
          new QueryApi(IamActions.of(s.iam), StsActions.of(s.sts)),
          new SigV4Verifier("iam", globalRegions, identities, clocks.clock(), clocks.lifecycle()),
          new SigV4Verifier("sts", globalRegions, identities, clocks.clock(), clocks.lifecycle()));
      // CloudTrail's LookupEvents over the audit trail; CloudTrail is regional: signed for the configured region
      CloudTrailApi cloudTrail = CloudTrailApi.create(config.accountId(), config.region(), AuditLookup.of(audit),
          identities, new SigV4Verifier(CloudTrailApi.SIGNING_NAME, List.of(config.region()), identities,
              clocks.clock(), clocks.lifecycle()), clocks.clock());
      return new Apis(api, verifier, query, cloudTrail);
    }
  }

  /**
   * The APIs, one server per event loop on the main listener, and XKS's own listener when it has one. On failure
   * the event loops are closed again and the failure is thrown.
   */
  static Listening listen(GatewayConfig config, Clocks clocks, Identities identities, Services services,
      KeyStoreWiring keyStores, KeyCache cache, AuditLog audit, AuditRecorder recorder) throws Exception {
    Apis apis = Apis.of(config, clocks, identities, services, keyStores.stores(), audit);
    int eventLoops = Math.max(2, Runtime.getRuntime().availableProcessors());
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(eventLoops));
    GatewayConfig.Http http = config.http();
    GatewayHttpServer.Listen listen = new GatewayHttpServer.Listen(http.host(), http.port(), http.tlsCertificate(),
        http.tlsKey());
    KeyStores stores = keyStores.stores();
    Supplier<GatewayHttpServer.Health> health = () -> HealthDocument.of(stores, services.customStores, cache,
        audit);
    GatewayConfig.Connections limits = http.connections();
    ConnectionGuard kmsConnections = new ConnectionGuard("kms", limits.idleTimeoutMs(), limits.requestTimeoutMs(),
        limits.maxConnections());
    HostNames hostNames = new HostNames(http.hostnames());
    try {
      XksSetup.Prepared x = XksSetup.prepare(config, services.keys, services.aliases, stores,
          keyStores.definitions(), services.customStores::clusterOf, clocks.clock());
      if (x != null) {
        x.api().audit(recorder);
      }
      // the health details show what DescribeCustomKeyStores shows and more: the same permission reads them
      HealthEndpoints.Access healthDetail = caller -> services.authz.onAccount(caller,
          "kms:DescribeCustomKeyStores", "*", null);
      vertx.deployVerticle(() -> {
            GatewayHttpServer main = new GatewayHttpServer(listen, apis.kmsVerifier(), apis.kms(), health,
                apis.query()).audit(recorder).cloudTrail(apis.cloudTrail()).connections(kmsConnections)
                .hostNames(hostNames).healthDetail(healthDetail);
            return x == null ? main : x.onMain(main);
          }, new DeploymentOptions().setInstances(eventLoops))
          .await(30, TimeUnit.SECONDS);
      int xksPort = -1;
      if (x != null && x.listen() != null) {
        xksPort = listenXks(vertx, x, health, limits, eventLoops);
      }
      ConnectionGuard.checkDescriptorLimit((long) limits.maxConnections()
          * (x != null && x.listen() != null ? 2 : 1));
      return new Listening(vertx, x, xksPort);
    } catch (Exception e) {
      vertx.close();
      throw e;
    }
  }

  /**
   * The XKS listener of its own (TLS, mTLS): the XKS routes and /healthz (the status alone), no KMS API; returns the
   * port it bound.
   */
  private static int listenXks(Vertx vertx, XksSetup.Prepared x, Supplier<GatewayHttpServer.Health> health,
      GatewayConfig.Connections limits, int eventLoops) throws Exception {
    AtomicReference<GatewayHttpServer> one = new AtomicReference<>();
    ConnectionGuard xksConnections = new ConnectionGuard("xks", limits.idleTimeoutMs(), limits.requestTimeoutMs(),
        limits.maxConnections());
    vertx.deployVerticle(() -> {
          GatewayHttpServer s = new GatewayHttpServer(x.listen(), null, null, health).mount(x.api())
              .configure(x.tls()).connections(xksConnections);
          one.compareAndSet(null, s);
          return s;
        }, new DeploymentOptions().setInstances(eventLoops))
        .await(30, TimeUnit.SECONDS);
    return one.get().actualPort();
  }
}
