package io.kmsgw.config;

import java.io.IOException;
import java.io.Reader;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.representer.Representer;
import org.yaml.snakeyaml.resolver.Resolver;

/**
 * Reads the configuration: every key from the environment variable {@code KMSGW_<KEY>} (the dotted path upper-cased,
 * dots as underscores: {@code hsm.pool.size} is {@code KMSGW_HSM_POOL_SIZE}), else from the YAML file, else its
 * default. Unknown keys in the file are refused, so a typo cannot silently fall back to a default.
 *
 * <p>Without a file the gateway runs in development mode: a SoftHSM2 token created under the data directory.
 */
public final class ConfigLoader {
  /** Every key, with its default ("" for none). Keep in step with hsm-config/*.yaml and docs/configuration.md. */
  static final Map<String, String> DEFAULTS = new LinkedHashMap<>();

  static {
    DEFAULTS.put("data_dir", "./data");
    DEFAULTS.put("region", "us-east-1");
    DEFAULTS.put("account_id", "111122223333");
    DEFAULTS.put("http.host", "127.0.0.1");
    DEFAULTS.put("http.port", "8400");
    DEFAULTS.put("http.tls.certificate_file", "");
    DEFAULTS.put("http.tls.private_key_file", "");
    DEFAULTS.put("http.idle_timeout_ms", "75000");
    DEFAULTS.put("http.request_timeout_ms", "20000");
    DEFAULTS.put("http.max_connections", "4096");
    DEFAULTS.put("http.hostnames", "");
    DEFAULTS.put("admin.access_key_id", "");
    DEFAULTS.put("admin.secret_access_key", "");
    DEFAULTS.put("hsm.vendor", "softhsm2");
    DEFAULTS.put("hsm.library", "");
    DEFAULTS.put("hsm.token_label", "kmsgw");
    DEFAULTS.put("hsm.init_args", "");
    DEFAULTS.put("hsm.dev_token", "");
    DEFAULTS.put("hsm.pin", "");
    DEFAULTS.put("hsm.pin_file", "");
    DEFAULTS.put("hsm.pool.size", "");
    DEFAULTS.put("hsm.pool.borrow_timeout_ms", "2000");
    DEFAULTS.put("hsm.pool.call_timeout_ms", "10000");
    DEFAULTS.put("hsm.pool.validate_after_idle_ms", "10000");
    DEFAULTS.put("hsm.reconnect.initial_backoff_ms", "1000");
    DEFAULTS.put("hsm.reconnect.max_backoff_ms", "60000");
    DEFAULTS.put("hsm.capabilities.gcm_iv_from_hsm", "");
    DEFAULTS.put("hsm.capabilities.gcm_general_error_on_tag_mismatch", "");
    DEFAULTS.put("hsm.capabilities.session_key_copies", "");
    DEFAULTS.put("store.jdbc_url", "");
    DEFAULTS.put("store.username", "");
    DEFAULTS.put("store.password_file", "");
    DEFAULTS.put("limits.keys_per_account", "1000");
    DEFAULTS.put("dev.clock_offset_days", "0");
    DEFAULTS.put("dev.pin", "");
    DEFAULTS.put("dev.pin_user", "");
    DEFAULTS.put("dev.xks_access_key_id", "");
    DEFAULTS.put("dev.xks_secret_access_key", "");
    DEFAULTS.put("xks.fleet_size", "1");
    DEFAULTS.put("xks.iv_from_hsm_random", "false");
    DEFAULTS.put("xks.health_cache_seconds", "30");
    DEFAULTS.put("xks.listener.host", "127.0.0.1");
    DEFAULTS.put("xks.listener.port", "");
    DEFAULTS.put("xks.listener.tls.certificate_file", "");
    DEFAULTS.put("xks.listener.tls.private_key_file", "");
    DEFAULTS.put("xks.listener.tls.self_signed", "");
    DEFAULTS.put("xks.listener.tls.client_ca_file", "");
    DEFAULTS.put("xks.listener.tls.client_names", "");
    DEFAULTS.put("log.level", "INFO");
    DEFAULTS.put("audit.dir", "");
    DEFAULTS.put("audit.max_file_mb", "64");
    DEFAULTS.put("audit.max_file_kb", "0");
    DEFAULTS.put("audit.preallocate_mb", "8");
    DEFAULTS.put("audit.low_space_mb", "256");
    DEFAULTS.put("audit.retention_days", "0");
    DEFAULTS.put("audit.digest_every_events", "1000");
    DEFAULTS.put("audit.digest_every_seconds", "60");
    DEFAULTS.put("audit.stdout", "false");
    DEFAULTS.put("audit.http_sink_url", "");
  }

  /** Where SoftHSM2 keeps its library on common systems, for development mode. */
  static final List<String> SOFTHSM_LIBRARIES = List.of(
      "/usr/lib/softhsm/libsofthsm2.so",
      "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
      "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
      "/usr/lib64/pkcs11/libsofthsm2.so",
      "/usr/local/lib/softhsm/libsofthsm2.so",
      "/opt/homebrew/lib/softhsm/libsofthsm2.so");

  private ConfigLoader() {}

  /** The installed SoftHSM2 library, if any. */
  public static java.util.Optional<String> findSoftHsmLibrary() {
    return SOFTHSM_LIBRARIES.stream().filter(p -> Files.isReadable(Path.of(p))).findFirst();
  }

  public static String envName(String key) {
    return "KMSGW_" + key.replace('.', '_').toUpperCase(Locale.ROOT);
  }

  public static GatewayConfig load(Path file, Map<String, String> env) {
    Map<String, String> fromFile = file == null ? Map.of() : readYaml(file);
    Map<String, String> v = new LinkedHashMap<>();
    for (Map.Entry<String, String> d : DEFAULTS.entrySet()) {
      String e = env.get(envName(d.getKey()));
      v.put(d.getKey(), e != null ? e : fromFile.getOrDefault(d.getKey(), d.getValue()));
    }
    return build(v, file == null, fromFile, env);
  }

  private static Map<String, String> readYaml(Path file) {
    Object doc;
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      doc = stringYaml().load(r);
    } catch (IOException e) {
      throw new ConfigException("cannot read configuration file " + file + ": " + e.getMessage(), e);
    } catch (MarkedYAMLException e) {
      // the problem and where, never the offending text: it may be a PIN or a secret
      Mark m = e.getProblemMark();
      throw new ConfigException("configuration file " + file + " is not valid YAML"
          + (m == null ? "" : " at line " + (m.getLine() + 1) + ", column " + (m.getColumn() + 1))
          + (e.getProblem() == null ? "" : ": " + e.getProblem()));
    } catch (YAMLException e) {
      throw new ConfigException("configuration file " + file + " is not valid YAML");
    }
    Map<String, String> flat = new LinkedHashMap<>();
    if (doc == null) {
      return flat;
    }
    if (!(doc instanceof Map<?, ?> m)) {
      throw new ConfigException("configuration file " + file + " must be a YAML mapping");
    }
    flatten("", m, flat);
    TreeSet<String> unknown = new TreeSet<>(flat.keySet());
    unknown.removeAll(DEFAULTS.keySet());
    unknown.removeIf(k -> k.startsWith(HsmDefinitions.PREFIX) || k.startsWith(Accounts.PREFIX));
    unknown.addAll(HsmDefinitions.unknownKeys(flat));
    unknown.removeIf(k -> k.startsWith(XksSettings.PREFIX));
    unknown.addAll(XksSettings.unknownKeys(flat));
    unknown.addAll(Accounts.unknownKeys(flat));
    if (!unknown.isEmpty()) {
      throw new ConfigException("unknown configuration keys in " + file + ": " + unknown);
    }
    return flat;
  }

  /**
   * YAML with no implicit types: every scalar stays the string written. YAML 1.1 would read {@code pin: 0123} as
   * octal 83 and {@code pin: 12_34} as 1234, and a wrong PIN costs a login attempt against the HSM's limit.
   */
  private static Yaml stringYaml() {
    LoaderOptions options = new LoaderOptions();
    options.setAllowDuplicateKeys(false);
    Resolver plain = new Resolver() {
      @Override
      protected void addImplicitResolvers() {
        // none: no int, float, bool, null or timestamp guessing
      }
    };
    return new Yaml(new SafeConstructor(options), new Representer(new DumperOptions()), new DumperOptions(), options,
        plain);
  }

  private static void flatten(String prefix, Map<?, ?> map, Map<String, String> out) {
    for (Map.Entry<?, ?> e : map.entrySet()) {
      String key = prefix + e.getKey();
      if (e.getValue() instanceof Map<?, ?> child) {
        flatten(key + ".", child, out);
      } else if (e.getValue() instanceof List<?>) {
        throw new ConfigException(key + ": lists are not accepted here");
      } else {
        out.put(key, e.getValue() == null ? "" : e.getValue().toString());
      }
    }
  }

  private static GatewayConfig build(Map<String, String> v, boolean devMode, Map<String, String> fromFile,
      Map<String, String> env) {
    List<String> errors = new ArrayList<>();
    Path dataDir = Path.of(v.get("data_dir"));
    String region = v.get("region");
    if (!region.matches("[a-z]{2}(-[a-z]+)+-\\d{1,2}")) {
      errors.add("region: '" + region + "' is not an AWS-style region name such as us-east-1");
    }
    String account = v.get("account_id");
    if (!account.matches("\\d{12}")) {
      errors.add("account_id: must be 12 digits");
    }
    String host = v.get("http.host");
    int port = integer(v, "http.port", 0, 65535, errors);
    Path cert = path(v.get("http.tls.certificate_file"));
    Path key = path(v.get("http.tls.private_key_file"));
    if ((cert == null) != (key == null)) {
      errors.add("http.tls: set both certificate_file and private_key_file, or neither");
    }
    if (cert == null && !isLoopback(host)) {
      errors.add("http.host: refusing to listen on the non-loopback address " + host
          + " over plain HTTP; configure http.tls.certificate_file and http.tls.private_key_file");
    }
    GatewayConfig.Connections connections = new GatewayConfig.Connections(
        integer(v, "http.idle_timeout_ms", 1000, 3_600_000, errors),
        integer(v, "http.request_timeout_ms", 100, 600_000, errors),
        integer(v, "http.max_connections", 1, 1_000_000, errors));
    List<String> hostnames = hostnames(v.get("http.hostnames"), errors);
    String akid = blankToNull(v.get("admin.access_key_id"));
    String secret = blankToNull(v.get("admin.secret_access_key"));
    if ((akid == null) != (secret == null)) {
      errors.add("admin: set both access_key_id and secret_access_key (KMSGW_ADMIN_ACCESS_KEY_ID and "
          + "KMSGW_ADMIN_SECRET_ACCESS_KEY), or neither to have a pair generated");
    }
    if (akid != null && !akid.matches("[A-Z0-9]{16,128}")) {
      errors.add("admin.access_key_id: 16 to 128 characters of A-Z and 0-9");
    }
    if (secret != null && (secret.length() < 16 || secret.length() > 128)) {
      errors.add("admin.secret_access_key: 16 to 128 characters");
    }

    VendorProfile vendor = VendorProfile.parse(v.get("hsm.vendor"));
    boolean devToken = v.get("hsm.dev_token").isEmpty() ? devMode : bool(v, "hsm.dev_token", errors);
    if (devToken && vendor != VendorProfile.SOFTHSM2) {
      errors.add("hsm.dev_token: only for hsm.vendor softhsm2");
    }
    String library = v.get("hsm.library");
    if (library.isEmpty() && vendor == VendorProfile.SOFTHSM2) {
      library = findSoftHsmLibrary().orElse("");
      if (library.isEmpty()) {
        errors.add("hsm.library: SoftHSM2 is not installed (looked in " + SOFTHSM_LIBRARIES
            + "); install the softhsm2 package or set hsm.library");
      }
    } else if (library.isEmpty()) {
      errors.add("hsm.library: the vendor's PKCS#11 library path is required");
    }
    String initArgs = InitArgs.parse(v.get("hsm.init_args"), dataDir, vendor, library, "hsm.init_args", errors);
    String tokenLabel = v.get("hsm.token_label");
    if (tokenLabel.isEmpty() || tokenLabel.length() > 32) {
      errors.add("hsm.token_label: 1 to 32 characters (the PKCS#11 token label field is 32 bytes)");
    }
    String pin = blankToNull(v.get("hsm.pin"));
    Path pinFile = path(v.get("hsm.pin_file").replace(InitArgs.DATA_DIR, dataDir.toString()));
    if (!devToken && pin == null && pinFile == null) {
      errors.add("hsm: the crypto user PIN is required: set hsm.pin_file or KMSGW_HSM_PIN");
    }
    boolean ivFromHsm = v.get("hsm.capabilities.gcm_iv_from_hsm").isEmpty()
        ? vendor.gcmIvFromHsm() : bool(v, "hsm.capabilities.gcm_iv_from_hsm", errors);
    boolean generalError = v.get("hsm.capabilities.gcm_general_error_on_tag_mismatch").isEmpty()
        ? vendor.gcmGeneralErrorOnTagMismatch()
        : bool(v, "hsm.capabilities.gcm_general_error_on_tag_mismatch", errors);
    boolean sessionCopies = v.get("hsm.capabilities.session_key_copies").isEmpty()
        ? vendor.sessionKeyCopies() : bool(v, "hsm.capabilities.session_key_copies", errors);
    int poolSize = v.get("hsm.pool.size").isEmpty() ? vendor.defaultPoolSize()
        : integer(v, "hsm.pool.size", 1, 1024, errors);
    long borrow = integer(v, "hsm.pool.borrow_timeout_ms", 1, 600_000, errors);
    long callTimeout = integer(v, "hsm.pool.call_timeout_ms", 1, 600_000, errors);
    long idle = integer(v, "hsm.pool.validate_after_idle_ms", 0, 86_400_000, errors);
    long initialBackoff = integer(v, "hsm.reconnect.initial_backoff_ms", 10, 3_600_000, errors);
    long maxBackoff = integer(v, "hsm.reconnect.max_backoff_ms", 10, 3_600_000, errors);
    int keyQuota = integer(v, "limits.keys_per_account", 1, 10_000_000, errors);
    int clockOffsetDays = integer(v, "dev.clock_offset_days", -36_500, 36_500, errors);
    if (clockOffsetDays != 0 && !devToken) {
      errors.add("dev.clock_offset_days: a development setting (it moves the lifecycle clock for rotation and "
          + "deletion tests); refused outside development mode");
    }
    String devPin = blankToNull(v.get("dev.pin"));
    if (devPin != null && !devToken) {
      errors.add("dev.pin: the user PIN of the development tokens; refused outside development mode");
    } else if (devPin != null && (devPin.length() < 7 || devPin.length() > 32)) {
      errors.add("dev.pin: 7 to 32 characters (as a KeyStorePassword)");
    }
    String devPinUser = DevPinUser.parse(blankToNull(v.get("dev.pin_user")), devToken, errors);
    String logLevel = v.get("log.level").toUpperCase(Locale.ROOT);
    if (!List.of("SEVERE", "WARNING", "INFO", "FINE", "FINER", "FINEST", "ALL", "OFF").contains(logLevel)) {
      errors.add("log.level: one of SEVERE, WARNING, INFO, FINE, FINER, FINEST");
    }
    GatewayConfig.Audit audit = audit(v, dataDir, errors);
    List<HsmDefinition> clusters = HsmDefinitions.parse(fromFile, env, devToken, library,
        HsmDefinitions.devCapabilities(ivFromHsm, generalError, sessionCopies), dataDir, errors);
    XksSettings xks = XksSettings.parse(v, fromFile, env, devToken, region, blankToNull(v.get("dev.xks_access_key_id")),
        blankToNull(v.get("dev.xks_secret_access_key")), errors);
    List<GatewayConfig.Account> accounts = Accounts.parse(fromFile, env, account, errors);
    if (!errors.isEmpty()) {
      throw new ConfigException(String.join("\n", errors));
    }
    return new GatewayConfig(dataDir, region, account,
        new GatewayConfig.Http(host, port, cert, key, connections, hostnames),
        new GatewayConfig.Admin(akid, secret),
        new GatewayConfig.Hsm(vendor, library, tokenLabel, devToken, pin, pinFile, poolSize, borrow, callTimeout, idle,
            initialBackoff, maxBackoff, ivFromHsm, generalError, sessionCopies, devPin, initArgs, devPinUser),
        new GatewayConfig.Store(blankToNull(v.get("store.jdbc_url")), blankToNull(v.get("store.username")),
            path(v.get("store.password_file"))),
        List.copyOf(clusters), List.copyOf(accounts), keyQuota, clockOffsetDays, logLevel, audit, xks);
  }

  private static GatewayConfig.Audit audit(Map<String, String> v, Path dataDir, List<String> errors) {
    Path dir = v.get("audit.dir").isBlank() ? dataDir.resolve("audit") : Path.of(v.get("audit.dir"));
    int maxMb = integer(v, "audit.max_file_mb", 1, 65_536, errors);
    // 0: the limit is max_file_mb; otherwise this many KiB (at least 16, so a digest and its records fit)
    int maxKb = integer(v, "audit.max_file_kb", 0, 65_536 << 10, errors);
    if (maxKb != 0 && maxKb < 16) {
      errors.add("audit.max_file_kb: 0 (use audit.max_file_mb) or at least 16");
    }
    int retention = integer(v, "audit.retention_days", 0, 36_500, errors);
    int everyEvents = integer(v, "audit.digest_every_events", 1, 10_000_000, errors);
    int everySeconds = integer(v, "audit.digest_every_seconds", 1, 86_400, errors);
    boolean stdout = bool(v, "audit.stdout", errors);
    int preallocateMb = integer(v, "audit.preallocate_mb", 0, 1024, errors);
    int lowSpaceMb = integer(v, "audit.low_space_mb", 0, 1_048_576, errors);
    java.net.URI sink = null;
    String url = v.get("audit.http_sink_url").trim();
    if (!url.isEmpty()) {
      try {
        sink = new java.net.URI(url);
        if (!"http".equals(sink.getScheme()) && !"https".equals(sink.getScheme()) || sink.getHost() == null) {
          errors.add("audit.http_sink_url: an http:// or https:// URL");
        }
      } catch (java.net.URISyntaxException e) {
        errors.add("audit.http_sink_url: not a URL");
      }
    }
    return new GatewayConfig.Audit(dir, maxMb, retention, everyEvents, everySeconds, stdout, sink,
        preallocateMb, lowSpaceMb, maxKb);
  }

  /**
   * {@code http.hostnames}: comma-separated host names or addresses, each optionally with {@code :port} (without
   * a port, any port matches); IPv6 addresses in brackets. Lower-cased, as Host is compared case-insensitively
   * (RFC 9110 4.2.3).
   */
  static List<String> hostnames(String value, List<String> errors) {
    List<String> names = new ArrayList<>();
    for (String raw : value.split(",", -1)) {
      String name = raw.strip().toLowerCase(Locale.ROOT);
      if (name.isEmpty()) {
        continue;
      }
      if (!name.matches("(\\[[0-9a-f:.]+\\]|[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?)(:\\d{1,5})?")) {
        errors.add("http.hostnames: '" + name + "' is not a host name, address or host:port");
        continue;
      }
      names.add(name);
    }
    return names;
  }

  static boolean isLoopback(String host) {
    if (host.equalsIgnoreCase("localhost")) {
      return true;
    }
    try {
      // a literal address only: resolving names here could make the decision depend on DNS
      if (!host.matches("\\d{1,3}(\\.\\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:]*")) {
        return false;
      }
      return InetAddress.getByName(host).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }

  private static int integer(Map<String, String> v, String key, int min, int max, List<String> errors) {
    return integer(v, key, min, max, errors, "");
  }

  static int integer(Map<String, String> v, String key, int min, int max, List<String> errors, String where) {
    try {
      int n = Integer.parseInt(v.get(key).trim());
      if (n < min || n > max) {
        errors.add(where + key + ": must be between " + min + " and " + max);
      }
      return n;
    } catch (NumberFormatException e) {
      errors.add(where + key + ": not a whole number");
      return min;
    }
  }

  private static boolean bool(Map<String, String> v, String key, List<String> errors) {
    return bool(v, key, errors, "");
  }

  static boolean bool(Map<String, String> v, String key, List<String> errors, String where) {
    String s = v.get(key).trim().toLowerCase(Locale.ROOT);
    if (!s.equals("true") && !s.equals("false")) {
      errors.add(where + key + ": must be true or false");
    }
    return s.equals("true");
  }

  private static Path path(String s) {
    return s == null || s.isBlank() ? null : Path.of(s);
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s;
  }
}
