package io.kmsgw.app;

import io.kmsgw.api.http.GatewayHttpServer;
import io.kmsgw.api.xks.XksApi;
import io.kmsgw.api.xks.XksEndpoint;
import io.kmsgw.api.xks.XksTls;
import io.kmsgw.config.ConfigException;
import io.kmsgw.config.GatewayConfig;
import io.kmsgw.config.HsmDefinition;
import io.kmsgw.config.XksSettings;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.error.KmsException;
import io.kmsgw.kms.AliasService;
import io.kmsgw.kms.ExternalKeyService;
import io.kmsgw.kms.KeyService;
import io.kmsgw.keystore.KeyStores;
import io.kmsgw.policy.PolicyDocument;
import io.kmsgw.policy.PolicyException;
import io.kmsgw.policy.PolicyParser;
import io.vertx.core.http.HttpServerOptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Wires the XKS proxy API from the configuration: one {@link XksEndpoint} per configured endpoint (plus the
 * development one, with its credential resolved), their policies, and the listener they are served on.
 */
final class XksSetup {
  private static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger(XksSetup.class.getName());
  private static final java.util.regex.Pattern UUID_FORM =
      java.util.regex.Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
  /**
   * @param listen XKS's own listener, or null to serve XKS on the main listener
   * @param tls the XKS listener's TLS options (cipher suites, mTLS), or null
   * @param dev the development endpoint's credential, or null
   */
  record Prepared(XksApi api, List<XksSettings.Endpoint> endpoints, GatewayHttpServer.Listen listen,
      Consumer<HttpServerOptions> tls, XksDevCredentials.Resolved dev) {
    /** Mounts XKS on a main-listener server when it has no listener of its own. */
    GatewayHttpServer onMain(GatewayHttpServer server) {
      return listen == null ? server.mount(api) : server;
    }
  }

  private XksSetup() {}

  /** The XKS API, or null when no endpoint is configured. */
  static Prepared prepare(GatewayConfig config, KeyService keys, AliasService aliases, KeyStores stores,
      Map<String, HsmDefinition> definitions, Function<String, String> clusterOf, Clock clock) throws IOException {
    XksSettings xks = config.xks();
    if (xks.endpoints().isEmpty()) {
      return null;
    }
    List<XksSettings.Endpoint> endpoints = new ArrayList<>();
    List<XksEndpoint> runtime = new ArrayList<>();
    XksDevCredentials.Resolved dev = null;
    for (XksSettings.Endpoint e : xks.endpoints()) {
      if (e.dev()) {
        dev = XksDevCredentials.resolve(config.dataDir(), e);
        e = e.withCredentials(List.of(dev.credential()));
      }
      if (!KeyRecord.DEFAULT_KEY_STORE.equals(e.keyStoreId()) && stores.custom(e.keyStoreId()).isEmpty()) {
        throw new ConfigException("xks.endpoints." + e.name() + ".key_store: no key store " + e.keyStoreId()
            + " (default, or the id of a custom key store)");
      }
      checkKeys(e, keys, aliases);
      endpoints.add(e);
      runtime.add(XksEndpoint.of(e, policy(e), clock));
    }
    ExternalKeyService service = new ExternalKeyService(keys, aliases, stores, xks.ivFromHsmRandom());
    Function<String, XksApi.EkmInfo> ekm = storeId -> {
      if (KeyRecord.DEFAULT_KEY_STORE.equals(storeId)) {
        String vendor = config.hsm().vendor().displayName();
        return new XksApi.EkmInfo(vendor, vendor + ", token " + config.hsm().tokenLabel());
      }
      String cluster = clusterOf.apply(storeId);
      HsmDefinition d = cluster == null ? null : definitions.get(cluster);
      return d == null ? new XksApi.EkmInfo("unknown", "custom key store " + storeId)
          : new XksApi.EkmInfo(d.vendor().displayName(), d.vendor().displayName() + ", token " + d.tokenLabel());
    };
    XksApi api = new XksApi(runtime, service, ekm, xks.fleetSize(), Duration.ofSeconds(xks.healthCacheSeconds()));
    XksSettings.Listener l = xks.listener();
    if (l == null) {
      return new Prepared(api, endpoints, null, null, dev);
    }
    java.nio.file.Path cert = l.certificate();
    java.nio.file.Path key = l.privateKey();
    if (l.selfSigned()) {
      DevCertificate.Files2 made = DevCertificate.ensure(config.dataDir(), l.host());
      cert = made.certificate();
      key = made.privateKey();
    }
    Consumer<HttpServerOptions> tls;
    try {
      tls = cert == null ? o -> {} : XksTls.options(l.clientCa(), l.clientNames());
    } catch (GeneralSecurityException e) {
      throw new ConfigException("xks.listener.tls.client_ca_file: " + e.getMessage(), e);
    }
    return new Prepared(api, endpoints, new GatewayHttpServer.Listen(l.host(), l.port(), cert, key), tls, dev);
  }

  /**
   * Applies a re-read configuration's XKS credentials to the running endpoints of the same name (SIGHUP): each
   * endpoint accepts exactly its newly configured credential sets from now on. Anything else that changed (new or
   * removed endpoints, prefixes, keys, policies) needs a restart and is only reported. The development endpoint's
   * credentials come from the environment and stay as they are.
   *
   * @return one line per endpoint saying what happened
   */
  static List<String> reloadCredentials(Prepared running, GatewayConfig fresh) {
    List<String> report = new ArrayList<>();
    java.util.Set<String> seen = new java.util.HashSet<>();
    for (XksSettings.Endpoint e : fresh.xks().endpoints()) {
      seen.add(e.name());
      if (e.dev()) {
        continue;
      }
      java.util.Optional<XksEndpoint> live = running.api().endpoint(e.name());
      if (live.isEmpty()) {
        report.add("xks endpoint " + e.name() + " is new: it is served after a restart");
      } else if (!live.get().prefix().equals(e.prefix())) {
        report.add("xks endpoint " + e.name() + ": its prefix changed, which needs a restart; credentials not changed");
      } else {
        live.get().replaceCredentials(e);
        report.add("xks endpoint " + e.name() + ": " + e.credentials().size() + " credential set(s) now valid ("
            + String.join(", ", e.credentials().stream().map(XksSettings.Credential::accessKeyId).toList()) + ")");
      }
    }
    for (XksSettings.Endpoint e : running.endpoints()) {
      if (!e.dev() && !seen.contains(e.name())) {
        report.add("xks endpoint " + e.name() + " is no longer configured: it is served until a restart");
      }
    }
    return report;
  }

  /**
   * Checks an endpoint's {@code keys} against the metadata store at start. A key id of a key that can never be served
   * there (another key store, not a symmetric ENCRYPT_DECRYPT key) refuses the start: the configuration is wrong. An
   * entry naming nothing now (a deleted key, an alias not yet made) is only a warning: keys are deleted and aliases
   * made through the KMS API, and a KMS caller must not be able to keep the gateway from restarting.
   */
  static void checkKeys(XksSettings.Endpoint e, KeyService keys, AliasService aliases) {
    String where = "xks.endpoints." + e.name() + ".keys: ";
    for (String entry : e.keys()) {
      java.util.UUID id = null;
      boolean byId = UUID_FORM.matcher(entry).matches();
      if (byId) {
        id = java.util.UUID.fromString(entry);
      } else {
        try {
          id = aliases.resolve("alias/" + entry);
        } catch (KmsException notFound) {
          LOG.warning(where + "no alias/" + entry + " exists now; the endpoint serves it once it does");
          continue;
        }
      }
      KeyRecord key;
      try {
        key = keys.lookup(id).get(30, java.util.concurrent.TimeUnit.SECONDS);
      } catch (java.util.concurrent.ExecutionException notFound) {
        LOG.warning(where + "no key " + entry + " exists" + (byId ? "" : " (alias/" + entry + " names " + id + ")")
            + "; the endpoint answers KeyNotFoundException for it");
        continue;
      } catch (InterruptedException | java.util.concurrent.TimeoutException ex) {
        throw new ConfigException(where + "could not read key " + entry + ": " + ex, ex);
      }
      String problem = !key.keyStoreId().equals(e.keyStoreId()) ? "is in key store " + key.keyStoreId()
          + ", not the endpoint's " + e.keyStoreId()
          : key.keySpec() != io.kmsgw.domain.KeySpec.SYMMETRIC_DEFAULT
              || key.keyUsage() != io.kmsgw.domain.KeyUsage.ENCRYPT_DECRYPT
              ? "is a " + key.keySpec() + " " + key.keyUsage() + " key; XKS serves SYMMETRIC_DEFAULT ENCRYPT_DECRYPT keys"
              : null;
      if (problem != null && byId) {
        throw new ConfigException(where + "key " + entry + " " + problem);
      } else if (problem != null) {
        LOG.warning(where + "alias/" + entry + " names key " + id + ", which " + problem);
      } else if (key.state() == io.kmsgw.domain.KeyState.PENDING_DELETION) {
        LOG.warning(where + "key " + entry + " is pending deletion");
      }
    }
  }

  private static List<PolicyDocument> policy(XksSettings.Endpoint e) throws IOException {
    if (e.policyFile() == null) {
      return List.of();
    }
    try {
      return List.of(PolicyParser.parse(Files.readString(e.policyFile(), StandardCharsets.UTF_8),
          PolicyParser.Kind.IDENTITY));
    } catch (PolicyException p) {
      throw new ConfigException("xks.endpoints." + e.name() + ".policy_file " + e.policyFile() + ": "
          + p.getMessage());
    }
  }
}
