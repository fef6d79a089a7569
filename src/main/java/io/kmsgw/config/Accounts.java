package io.kmsgw.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The {@code accounts:} section: further AWS-style accounts besides the default one ({@code account_id}), each with
 * its root's access key. Their users and roles (created through the IAM API) can be given access to the default
 * account's keys by key policies; no key lives in them.
 *
 * <pre>
 * accounts:
 *   "444455556666":
 *     access_key_id: AKIAEXAMPLEROOT2
 *     secret_access_key_file: /etc/kmsgw/account-444455556666.secret
 * </pre>
 *
 * Each field can be overridden by {@code KMSGW_ACCOUNTS_<ID>_<FIELD>} (e.g. {@code
 * KMSGW_ACCOUNTS_444455556666_SECRET_ACCESS_KEY}). With neither key id nor secret (a bare {@code "777788889999":}
 * entry), a pair is generated once into
 * {@code <data_dir>/account-<id>-credentials}, as for the bootstrap administrator.
 */
public final class Accounts {
  static final String PREFIX = "accounts.";
  static final List<String> FIELDS = List.of("access_key_id", "secret_access_key", "secret_access_key_file");

  private Accounts() {}

  static Set<String> unknownKeys(Map<String, String> fromFile) {
    Set<String> unknown = new TreeSet<>();
    for (String key : fromFile.keySet()) {
      if (key.startsWith(PREFIX)) {
        String rest = key.substring(PREFIX.length());
        int dot = rest.indexOf('.');
        // a bare "<id>:" declares an account whose root key is generated
        boolean bare = dot < 0 && fromFile.get(key).isEmpty();
        if (!bare && (dot < 0 || !FIELDS.contains(rest.substring(dot + 1)))) {
          unknown.add(key);
        }
      }
    }
    return unknown;
  }

  static String envName(String accountId, String field) {
    return "KMSGW_ACCOUNTS_" + accountId + "_" + field.toUpperCase(Locale.ROOT);
  }

  static List<GatewayConfig.Account> parse(Map<String, String> fromFile, Map<String, String> env,
      String defaultAccount, List<String> errors) {
    Set<String> ids = new TreeSet<>();
    for (String key : fromFile.keySet()) {
      if (key.startsWith(PREFIX)) {
        String rest = key.substring(PREFIX.length());
        ids.add(rest.indexOf('.') < 0 ? rest : rest.substring(0, rest.indexOf('.')));
      }
    }
    List<GatewayConfig.Account> out = new ArrayList<>();
    for (String id : ids) {
      String where = PREFIX + id + ".";
      if (!id.matches("\\d{12}")) {
        errors.add(PREFIX + id + ": an account id is 12 digits (quote it in YAML: \"444455556666\")");
        continue;
      }
      if (id.equals(defaultAccount)) {
        errors.add(PREFIX + id + ": this is the default account (account_id); its root is the admin");
        continue;
      }
      Map<String, String> v = new LinkedHashMap<>();
      for (String f : FIELDS) {
        String e = env.get(envName(id, f));
        String value = e != null ? e : fromFile.get(PREFIX + id + "." + f);
        v.put(f, value == null || value.isBlank() ? null : value.strip());
      }
      String akid = v.get("access_key_id");
      String secret = v.get("secret_access_key");
      Path secretFile = v.get("secret_access_key_file") == null ? null : Path.of(v.get("secret_access_key_file"));
      if (secret != null && secretFile != null) {
        errors.add(PREFIX + id + ": set secret_access_key or secret_access_key_file, not both");
      }
      if ((akid == null) != (secret == null && secretFile == null)) {
        errors.add(PREFIX + id + ": set access_key_id with secret_access_key or secret_access_key_file, or none of them to "
            + "have a pair generated");
      }
      if (akid != null && !akid.matches("[A-Z0-9]{16,128}")) {
        errors.add(where + "access_key_id: 16 to 128 characters of A-Z and 0-9");
      }
      if (secret != null && (secret.length() < 16 || secret.length() > 128)) {
        errors.add(where + "secret_access_key: 16 to 128 characters");
      }
      out.add(new GatewayConfig.Account(id, akid, secret, secretFile));
    }
    return out;
  }
}
