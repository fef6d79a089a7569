package io.kmsgw.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The {@code xks:} section: the AWS XKS proxy API's endpoints, each a URI path prefix serving keys of one key store
 * to an external KMS, with its own SigV4 credentials; and where XKS is served.
 *
 * <pre>
 * xks:
 *   fleet_size: 1                       # xksProxyFleetSize in GetHealthStatus
 *   iv_from_hsm_random: false           # GCM IVs from the HSM's C_GenerateRandom instead of the gateway's DRBG
 *   health_cache_seconds: 30            # the deep health check's result is reused this long (at most 60)
 *   listener:                           # optional: a listener of its own (TLS, mTLS); else the main one
 *     host: 0.0.0.0
 *     port: 8443
 *     tls:
 *       certificate_file: /etc/kmsgw/xks.crt
 *       private_key_file: /etc/kmsgw/xks.key
 *       self_signed: false              # generate a development certificate under the data directory
 *       client_ca_file: /etc/kmsgw/amazon-trust-services.pem   # mTLS: the client's root CA
 *       client_names: cks.kms.eu-west-1.amazonaws.com         # mTLS: accepted subject CNs, comma-separated
 *   endpoints:
 *     payments:
 *       prefix: payments                # https://host/payments/kms/xks/v1/...
 *       key_store: default
 *       region: eu-west-1               # the SigV4 credential scope's region (default: region)
 *       service: kms-xks-proxy
 *       keys: 1234abcd-12ab-34cd-56ef-1234567890ab, payments-key   # gateway keys: key ids or alias names
 *       hsm_labels: xks-*, legacy-aes   # HSM keys by CKA_LABEL; a trailing * is a prefix
 *       tagged_keys: false              # also gateway keys tagged kmsgw:xks-endpoint=payments
 *       policy_file: /etc/kmsgw/xks-payments-policy.json   # optional secondary authorization
 *       credentials:
 *         a:
 *           access_key_id: ABCDEFGHIJKLMNOPQRST2345
 *           secret_access_key_file: /etc/kmsgw/xks-payments-a.secret
 *         b: ...
 * </pre>
 *
 * Endpoint fields can be overridden by {@code KMSGW_XKS_ENDPOINTS_<NAME>_<FIELD>}, with the name upper-cased and
 * dashes as underscores ({@code KMSGW_XKS_ENDPOINTS_PAYMENTS_CREDENTIALS_A_SECRET_ACCESS_KEY}).
 */
public record XksSettings(List<Endpoint> endpoints, Listener listener, int fleetSize, boolean ivFromHsmRandom,
    int healthCacheSeconds) {

  static final String PREFIX = "xks.endpoints.";
  /** The development profile's endpoint: {@code http://127.0.0.1:8400/kmsgw-dev/kms/xks/v1/...}. */
  public static final String DEV_PREFIX = "kmsgw-dev";
  public static final String DEV_LABEL_PREFIX = "xks-";
  /** The development endpoint's name: the value of {@link #ENDPOINT_TAG} that gives it a gateway key. */
  public static final String DEV_NAME = "dev";
  /**
   * The tag that gives a gateway key to the XKS endpoint its value names, on endpoints with {@code tagged_keys}
   * (the development endpoint has it): {@code aws kms tag-resource --tags TagKey=kmsgw:xks-endpoint,TagValue=dev}.
   */
  public static final String ENDPOINT_TAG = "kmsgw:xks-endpoint";
  public static final String DEFAULT_SERVICE = "kms-xks-proxy";

  static final Map<String, String> FIELDS = new LinkedHashMap<>();
  private static final Set<String> CREDENTIAL_FIELDS = Set.of("access_key_id", "secret_access_key",
      "secret_access_key_file");

  static {
    FIELDS.put("prefix", "");
    FIELDS.put("key_store", "default");
    FIELDS.put("region", "");
    FIELDS.put("service", DEFAULT_SERVICE);
    FIELDS.put("keys", "");
    FIELDS.put("hsm_labels", "");
    FIELDS.put("tagged_keys", "false");
    // removed (issue #15, item 3): known only so that a configuration still naming it gets a clear error
    FIELDS.put("all_keys", "false");
    FIELDS.put("policy_file", "");
  }

  /** One SigV4 credential: the secret given inline or in a file (read at start). */
  public record Credential(String accessKeyId, String secretAccessKey) {
    @Override
    public String toString() {
      return "Credential[" + accessKeyId + ", ***]";
    }
  }

  /**
   * @param prefix the URI path prefix before {@code /kms/xks/v1}, without slashes at either end ("" for none)
   * @param keys gateway-managed keys by key id or alias name (without {@code alias/})
   * @param labels HSM labels served as they are; a trailing {@code *} is a prefix
   * @param taggedKeys also the gateway keys of the key store tagged {@link #ENDPOINT_TAG} = the endpoint's name
   * @param credentials empty for the development endpoint until the gateway resolves its credentials
   */
  public record Endpoint(String name, String prefix, String keyStoreId, String region, String service,
      Set<String> keys, List<String> labels, boolean taggedKeys, Path policyFile, List<Credential> credentials,
      boolean dev) {
    public Endpoint withCredentials(List<Credential> c) {
      return new Endpoint(name, prefix, keyStoreId, region, service, keys, labels, taggedKeys, policyFile,
          List.copyOf(c), dev);
    }
  }

  /** XKS's own listener; {@code clientCa} null means no mTLS. */
  public record Listener(String host, int port, Path certificate, Path privateKey, boolean selfSigned, Path clientCa,
      Set<String> clientNames) {
    public boolean tls() {
      return certificate != null || selfSigned;
    }
  }

  public static boolean validAccessKeyId(String s) {
    return s != null && s.matches("[A-Z2-7]{20,30}");
  }

  public static boolean validSecret(String s) {
    return s != null && s.matches("[A-Za-z0-9+/=]{43,64}");
  }

  /** Keys under {@code xks.endpoints.} that are not a known field. */
  static Set<String> unknownKeys(Map<String, String> fromFile) {
    Set<String> unknown = new TreeSet<>();
    for (String key : fromFile.keySet()) {
      if (!key.startsWith(PREFIX)) {
        continue;
      }
      String rest = key.substring(PREFIX.length());
      int dot = rest.indexOf('.');
      String field = dot < 0 ? "" : rest.substring(dot + 1);
      boolean credential = field.startsWith("credentials.")
          && CREDENTIAL_FIELDS.contains(field.substring(field.indexOf('.', "credentials.".length()) + 1))
          && field.indexOf('.', "credentials.".length()) > 0;
      if (!FIELDS.containsKey(field) && !credential) {
        unknown.add(key);
      }
    }
    return unknown;
  }

  static String envName(String name, String field) {
    return "KMSGW_XKS_ENDPOINTS_" + name.toUpperCase(Locale.ROOT).replace('-', '_') + "_"
        + field.toUpperCase(Locale.ROOT).replace('.', '_');
  }

  /**
   * @param v the top-level {@code xks.*} values (defaults applied)
   * @param devAccessKeyId {@code dev.xks_access_key_id}, or null
   */
  static XksSettings parse(Map<String, String> v, Map<String, String> fromFile, Map<String, String> env,
      boolean devMode, String region, String devAccessKeyId, String devSecret, List<String> errors) {
    List<Endpoint> endpoints = new ArrayList<>();
    Set<String> names = new TreeSet<>();
    for (String key : fromFile.keySet()) {
      if (key.startsWith(PREFIX)) {
        String rest = key.substring(PREFIX.length());
        names.add(rest.substring(0, Math.max(0, rest.indexOf('.'))));
      }
    }
    Set<String> prefixes = new HashSet<>();
    for (String name : names) {
      String where = PREFIX + name + ".";
      if (!name.matches("[A-Za-z0-9_-]{1,64}")) {
        errors.add(where + ": an endpoint name is 1 to 64 letters, digits, - or _");
        continue;
      }
      Map<String, String> f = new LinkedHashMap<>();
      for (Map.Entry<String, String> e : FIELDS.entrySet()) {
        String fromEnv = env.get(envName(name, e.getKey()));
        f.put(e.getKey(), fromEnv != null ? fromEnv : fromFile.getOrDefault(where + e.getKey(), e.getValue()));
      }
      String prefix = trimSlashes(f.get("prefix"));
      checkPrefix(prefix, where, prefixes, errors);
      String epRegion = f.get("region").isBlank() ? region : f.get("region").trim();
      String service = f.get("service").trim();
      if (!service.matches("[a-z0-9-]{1,64}")) {
        errors.add(where + "service: the SigV4 service name, lower-case letters, digits and dashes");
      }
      Set<String> keys = new LinkedHashSet<>(list(f.get("keys")));
      for (String k : keys) {
        if (!k.matches("[A-Za-z0-9._-]{1,128}")) {
          errors.add(where + "keys: '" + k + "' cannot be an externalKeyId (1 to 128 of A-Z a-z 0-9 . _ -); give "
              + "a key id or an alias name without alias/");
        }
      }
      List<String> labels = list(f.get("hsm_labels"));
      if (ConfigLoader.bool(f, "all_keys", errors, where)) {
        // it served every symmetric key of the key store, KMS keys of any purpose included (issue #15, item 3)
        errors.add(where + "all_keys: no longer supported; list the keys in keys, or tag them " + ENDPOINT_TAG + "="
            + name + " and set tagged_keys: true");
      }
      boolean tagged = ConfigLoader.bool(f, "tagged_keys", errors, where);
      if (keys.isEmpty() && labels.isEmpty() && !tagged) {
        errors.add(where + ": exposes no key; set keys, hsm_labels or tagged_keys");
      }
      Path policy = f.get("policy_file").isBlank() ? null : Path.of(f.get("policy_file").trim());
      List<Credential> credentials = credentials(name, where, fromFile, env, errors);
      if (credentials.isEmpty()) {
        errors.add(where + "credentials: at least one SigV4 credential (two during a rotation)");
      }
      endpoints.add(new Endpoint(name, prefix, f.get("key_store").trim(), epRegion, service, keys, labels, tagged,
          policy, credentials, false));
    }
    if ((devAccessKeyId == null) != (devSecret == null)) {
      errors.add("dev: set both xks_access_key_id and xks_secret_access_key (KMSGW_DEV_XKS_ACCESS_KEY_ID and "
          + "KMSGW_DEV_XKS_SECRET_ACCESS_KEY), or neither to have a pair generated");
    }
    if (devAccessKeyId != null && !devMode) {
      errors.add("dev.xks_access_key_id: the development XKS endpoint's credential; refused outside development mode");
    }
    if (devAccessKeyId != null && !validAccessKeyId(devAccessKeyId)) {
      errors.add("dev.xks_access_key_id: 20 to 30 characters of A-Z and 2-7");
    }
    if (devSecret != null && !validSecret(devSecret)) {
      errors.add("dev.xks_secret_access_key: 43 to 64 characters of A-Z a-z 0-9 + / =");
    }
    if (devMode && !prefixes.contains(DEV_PREFIX)) {
      List<Credential> c = devAccessKeyId == null || devSecret == null ? List.of()
          : List.of(new Credential(devAccessKeyId, devSecret));
      // gateway keys only when tagged for it (kmsgw:xks-endpoint=dev), never every key of the store
      endpoints.add(new Endpoint(DEV_NAME, DEV_PREFIX, "default", region, DEFAULT_SERVICE, Set.of(),
          List.of(DEV_LABEL_PREFIX + "*"), true, null, c, true));
    }
    Listener listener = listener(v, devMode, errors);
    int fleet = ConfigLoader.integer(v, "xks.fleet_size", 1, 1000, errors, "");
    boolean ivRandom = ConfigLoader.bool(v, "xks.iv_from_hsm_random", errors, "");
    int cache = ConfigLoader.integer(v, "xks.health_cache_seconds", 1, 60, errors, "");
    return new XksSettings(List.copyOf(endpoints), listener, fleet, ivRandom, cache);
  }

  private static void checkPrefix(String prefix, String where, Set<String> prefixes, List<String> errors) {
    // XKS spec: XksProxyUriPath ([/prefix]/kms/xks/v1) is at most 128 characters of a-z A-Z 0-9 / - _
    String uriPath = (prefix.isEmpty() ? "" : "/" + prefix) + "/kms/xks/v1";
    if (!prefix.matches("[A-Za-z0-9/_-]*") || prefix.contains("//") || uriPath.length() > 128) {
      errors.add(where + "prefix: letters, digits, /, - and _ only, and " + uriPath + " at most 128 characters");
    } else if (prefix.contains("kms/xks/v1")) {
      // the router splits a request's path at its first /kms/xks/v1: a prefix holding that text is unreachable
      errors.add(where + "prefix: must not contain kms/xks/v1 (give only the part before /kms/xks/v1)");
    } else if (!prefixes.add(prefix)) {
      errors.add(where + "prefix: '" + prefix + "' is the prefix of another endpoint too");
    }
  }

  private static List<Credential> credentials(String name, String where, Map<String, String> fromFile,
      Map<String, String> env, List<String> errors) {
    Set<String> ids = new TreeSet<>();
    String credPrefix = where + "credentials.";
    for (String key : fromFile.keySet()) {
      if (key.startsWith(credPrefix)) {
        String rest = key.substring(credPrefix.length());
        if (rest.indexOf('.') > 0) {
          ids.add(rest.substring(0, rest.indexOf('.')));
        }
      }
    }
    List<Credential> out = new ArrayList<>();
    Set<String> akids = new HashSet<>();
    for (String id : ids) {
      String w = credPrefix + id + ".";
      String akid = value(name, "credentials." + id + ".access_key_id", w + "access_key_id", fromFile, env);
      String secret = value(name, "credentials." + id + ".secret_access_key", w + "secret_access_key", fromFile, env);
      String file = value(name, "credentials." + id + ".secret_access_key_file", w + "secret_access_key_file",
          fromFile, env);
      if (secret == null && file != null) {
        try {
          String s = java.nio.file.Files.readString(Path.of(file), java.nio.charset.StandardCharsets.UTF_8);
          int nl = s.indexOf('\n');
          secret = (nl < 0 ? s : s.substring(0, nl)).strip();
        } catch (java.io.IOException e) {
          errors.add(w + "secret_access_key_file: cannot read " + file + ": " + e.getMessage());
          continue;
        }
      } else if ((secret == null) == (file == null)) {
        errors.add(w + ": set exactly one of secret_access_key or secret_access_key_file");
        continue;
      }
      if (!validAccessKeyId(akid)) {
        errors.add(w + "access_key_id: 20 to 30 characters of A-Z and 2-7 (XKS spec)");
      } else if (!akids.add(akid)) {
        errors.add(w + "access_key_id: given twice for this endpoint");
      }
      if (!validSecret(secret)) {
        // never the value: it is a secret
        errors.add(w + "secret_access_key: 43 to 64 characters of A-Z a-z 0-9 + / = (XKS spec)");
      }
      out.add(new Credential(akid, secret));
    }
    return out;
  }

  private static String value(String name, String field, String fileKey, Map<String, String> fromFile,
      Map<String, String> env) {
    String e = env.get(envName(name, field));
    String s = e != null ? e : fromFile.get(fileKey);
    return s == null || s.isBlank() ? null : s.strip();
  }

  private static Listener listener(Map<String, String> v, boolean devMode, List<String> errors) {
    if (v.get("xks.listener.port").isBlank()) {
      return null;
    }
    int port = ConfigLoader.integer(v, "xks.listener.port", 0, 65535, errors, "");
    String host = v.get("xks.listener.host").trim();
    Path cert = path(v.get("xks.listener.tls.certificate_file"));
    Path key = path(v.get("xks.listener.tls.private_key_file"));
    if ((cert == null) != (key == null)) {
      errors.add("xks.listener.tls: set both certificate_file and private_key_file, or neither");
    }
    boolean selfSigned = v.get("xks.listener.tls.self_signed").isBlank() ? devMode && cert == null
        : ConfigLoader.bool(v, "xks.listener.tls.self_signed", errors, "");
    if (selfSigned && cert != null) {
      errors.add("xks.listener.tls.self_signed: not with certificate_file");
    }
    Path ca = path(v.get("xks.listener.tls.client_ca_file"));
    Set<String> names = new LinkedHashSet<>(list(v.get("xks.listener.tls.client_names")));
    if (ca == null && !names.isEmpty()) {
      errors.add("xks.listener.tls.client_names: needs client_ca_file (mTLS)");
    }
    if (ca != null && names.isEmpty()) {
      // XKS spec: the customer MUST be able to configure both the subject name and the root CA
      errors.add("xks.listener.tls.client_ca_file: give client_names too (such as cks.kms.us-east-1.amazonaws.com)");
    }
    boolean tls = cert != null || selfSigned;
    if (!tls && !ConfigLoader.isLoopback(host)) {
      errors.add("xks.listener.host: refusing to serve XKS on the non-loopback address " + host + " over plain "
          + "HTTP; configure xks.listener.tls");
    }
    if (!tls && ca != null) {
      errors.add("xks.listener.tls.client_ca_file: mTLS needs TLS");
    }
    return new Listener(host, port, cert, key, selfSigned, ca, Set.copyOf(names));
  }

  private static Path path(String s) {
    return s == null || s.isBlank() ? null : Path.of(s.trim());
  }

  private static String trimSlashes(String s) {
    String t = s.trim();
    while (t.startsWith("/")) {
      t = t.substring(1);
    }
    while (t.endsWith("/")) {
      t = t.substring(0, t.length() - 1);
    }
    return t;
  }

  static List<String> list(String s) {
    if (s == null || s.isBlank()) {
      return List.of();
    }
    return Arrays.stream(s.split(",")).map(String::trim).filter(x -> !x.isEmpty()).toList();
  }
}
