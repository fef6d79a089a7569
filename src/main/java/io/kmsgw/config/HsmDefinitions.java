package io.kmsgw.config;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The {@code clusters:} section: HSM definitions for custom key stores, keyed by cluster id.
 *
 * <pre>
 * clusters:
 *   cluster-luna2east:
 *     vendor: luna
 *     library: /usr/safenet/lunaclient/lib/libCryptoki2_64.so
 *     token_label: kmsgw-ha
 *     pool:
 *       size: 16
 *     min_hsms: 1
 *     auto_reconnect: false
 * </pre>
 *
 * Each field of a declared cluster can be overridden by {@code KMSGW_CLUSTERS_<ID>_<FIELD>} (the id upper-cased with
 * dashes as underscores, e.g. {@code KMSGW_CLUSTERS_CLUSTER_LUNA2EAST_TOKEN_LABEL}). PINs are not configured here:
 * a custom key store's PIN is its KeyStorePassword, given through the API and sealed at rest.
 */
public final class HsmDefinitions {
  static final String PREFIX = "clusters.";

  /** Fields of a cluster and their defaults ("" = from the vendor profile, or required). */
  static final Map<String, String> FIELDS = new LinkedHashMap<>();

  static {
    FIELDS.put("vendor", "softhsm2");
    FIELDS.put("library", "");
    FIELDS.put("token_label", "");
    FIELDS.put("pool.size", "");
    FIELDS.put("pool.borrow_timeout_ms", "2000");
    FIELDS.put("pool.call_timeout_ms", "10000");
    FIELDS.put("pool.validate_after_idle_ms", "10000");
    FIELDS.put("min_hsms", "1");
    FIELDS.put("auto_reconnect", "false");
    FIELDS.put("capabilities.gcm_iv_from_hsm", "");
    FIELDS.put("capabilities.gcm_general_error_on_tag_mismatch", "");
    FIELDS.put("capabilities.session_key_copies", "");
    FIELDS.put("init_args", "");
  }

  /** The development profile's second token (issue #5: try custom key stores at once). */
  public static final String DEV_CLUSTER_ID = "cluster-kmsgwdevtwo";
  public static final String DEV_TOKEN_LABEL = "kmsgw-dev-2";

  private HsmDefinitions() {}

  /** Keys of the file under {@code clusters.} that are not a known field of a cluster. */
  static Set<String> unknownKeys(Map<String, String> fromFile) {
    Set<String> unknown = new TreeSet<>();
    for (String key : fromFile.keySet()) {
      if (key.startsWith(PREFIX)) {
        String rest = key.substring(PREFIX.length());
        int dot = rest.indexOf('.');
        if (dot < 0 || !FIELDS.containsKey(rest.substring(dot + 1))) {
          unknown.add(key);
        }
      }
    }
    return unknown;
  }

  static String envName(String clusterId, String field) {
    return "KMSGW_CLUSTERS_" + clusterId.toUpperCase(Locale.ROOT).replace('-', '_') + "_"
        + field.toUpperCase(Locale.ROOT).replace('.', '_');
  }

  /**
   * The development cluster's capability flags: the default key store's, since both development tokens are reached
   * through the same {@code hsm.library} (which may be a module in front of SoftHSM2 that generates IVs).
   */
  static Map<String, String> devCapabilities(boolean gcmIvFromHsm, boolean generalError, boolean sessionKeyCopies) {
    return Map.of("capabilities.gcm_iv_from_hsm", Boolean.toString(gcmIvFromHsm),
        "capabilities.gcm_general_error_on_tag_mismatch", Boolean.toString(generalError),
        "capabilities.session_key_copies", Boolean.toString(sessionKeyCopies));
  }

  static List<HsmDefinition> parse(Map<String, String> fromFile, Map<String, String> env, boolean devToken,
      String devLibrary, Map<String, String> devCapabilities, java.nio.file.Path dataDir, List<String> errors) {
    Set<String> ids = new TreeSet<>();
    for (String key : fromFile.keySet()) {
      if (key.startsWith(PREFIX)) {
        String rest = key.substring(PREFIX.length());
        ids.add(rest.substring(0, Math.max(0, rest.indexOf('.'))));
      }
    }
    List<HsmDefinition> out = new ArrayList<>();
    for (String id : ids) {
      if (!id.matches(HsmDefinition.ID_PATTERN)) {
        errors.add(PREFIX + id + ": a cluster id has the form cluster-<11 to 16 letters or digits 2-7>");
        continue;
      }
      Map<String, String> v = new LinkedHashMap<>();
      for (Map.Entry<String, String> f : FIELDS.entrySet()) {
        String e = env.get(envName(id, f.getKey()));
        v.put(f.getKey(), e != null ? e : fromFile.getOrDefault(PREFIX + id + "." + f.getKey(), f.getValue()));
      }
      out.add(definition(id, v, false, dataDir, errors));
    }
    if (devToken && ids.add(DEV_CLUSTER_ID)) {
      Map<String, String> v = new LinkedHashMap<>(FIELDS);
      v.put("library", devLibrary);
      v.put("token_label", DEV_TOKEN_LABEL);
      v.putAll(devCapabilities);
      out.add(definition(DEV_CLUSTER_ID, v, true, dataDir, errors));
    }
    return out;
  }

  private static HsmDefinition definition(String id, Map<String, String> v, boolean dev, java.nio.file.Path dataDir,
      List<String> errors) {
    String where = PREFIX + id + ".";
    VendorProfile vendor;
    try {
      vendor = VendorProfile.parse(v.get("vendor"));
    } catch (ConfigException e) {
      errors.add(where + e.getMessage());
      vendor = VendorProfile.SOFTHSM2;
    }
    String library = v.get("library");
    if (library.isEmpty() && vendor == VendorProfile.SOFTHSM2) {
      library = ConfigLoader.findSoftHsmLibrary().orElse("");
    }
    if (library.isEmpty()) {
      errors.add(where + "library: the PKCS#11 library path is required");
    }
    String label = v.get("token_label");
    if (label.isEmpty() || label.length() > 32) {
      errors.add(where + "token_label: 1 to 32 characters");
    }
    int pool = v.get("pool.size").isEmpty() ? vendor.defaultPoolSize()
        : ConfigLoader.integer(v, "pool.size", 1, 1024, errors, where);
    long borrow = ConfigLoader.integer(v, "pool.borrow_timeout_ms", 1, 600_000, errors, where);
    long call = ConfigLoader.integer(v, "pool.call_timeout_ms", 1, 600_000, errors, where);
    long idle = ConfigLoader.integer(v, "pool.validate_after_idle_ms", 0, 86_400_000, errors, where);
    int minHsms = ConfigLoader.integer(v, "min_hsms", 1, 64, errors, where);
    boolean auto = ConfigLoader.bool(v, "auto_reconnect", errors, where);
    boolean ivFromHsm = v.get("capabilities.gcm_iv_from_hsm").isEmpty() ? vendor.gcmIvFromHsm()
        : ConfigLoader.bool(v, "capabilities.gcm_iv_from_hsm", errors, where);
    boolean generalError = v.get("capabilities.gcm_general_error_on_tag_mismatch").isEmpty()
        ? vendor.gcmGeneralErrorOnTagMismatch()
        : ConfigLoader.bool(v, "capabilities.gcm_general_error_on_tag_mismatch", errors, where);
    boolean copies = v.get("capabilities.session_key_copies").isEmpty() ? vendor.sessionKeyCopies()
        : ConfigLoader.bool(v, "capabilities.session_key_copies", errors, where);
    String initArgs = InitArgs.parse(v.get("init_args"), dataDir, vendor, library, where + "init_args", errors);
    return new HsmDefinition(id, vendor, library, label, pool, borrow, call, idle, minHsms, auto, ivFromHsm,
        generalError, copies, dev, initArgs);
  }
}
