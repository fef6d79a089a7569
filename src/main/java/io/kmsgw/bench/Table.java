package io.kmsgw.bench;

import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;

/** The benchmark's results as a Markdown table (what docs/performance.md shows). */
final class Table {
  private Table() {}

  /**
   * The raw PKCS#11 rates, then one row per scenario; "vs raw" is against the scenario's own HSM call where it has
   * one ({@code ratio_to_raw}: the key-type scenarios), against the AES-GCM seal otherwise.
   */
  static String render(Map<String, JsonObject> raw, List<JsonObject> results) {
    JsonObject aes = raw.get(RawMechanism.AES_GCM.id());
    double rawRate = aes.getDouble("ops_per_second");
    StringBuilder sb = new StringBuilder();
    for (JsonObject r : raw.values()) {
      sb.append(String.format("Raw PKCS#11 (%s, gateway's session pool of %d, no HTTP): %.0f ops/s%n",
          r.getString("description"), r.getInteger("pool_size"), r.getDouble("ops_per_second")));
    }
    sb.append(System.lineSeparator());
    sb.append("| scenario | conns | req/s | vs raw | p50 ms | p90 ms | p99 ms | max ms | errors | server CPU s | peak RSS MiB"
        + " | OpenSession/Login/FindObjects | audit writes > 10 ms |\n");
    sb.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|\n");
    for (JsonObject r : results) {
      JsonObject c = r.getJsonObject("pkcs11_calls");
      double ratio = r.getDouble("ratio_to_raw", r.getDouble("requests_per_second") / rawRate);
      sb.append(String.format("| %s | %d | %.0f | %.0f%% | %.2f | %.2f | %.2f | %.1f | %d | %.1f | %.0f | %d/%d/%d"
          + " | %s |%n",
          r.getString("scenario"), r.getInteger("connections"), r.getDouble("requests_per_second"),
          100 * ratio, r.getDouble("p50_ms"), r.getDouble("p90_ms"),
          r.getDouble("p99_ms"), r.getDouble("max_ms"), r.getLong("errors"), r.getDouble("server_cpu_seconds"),
          r.getDouble("server_peak_rss_mib"), c.getLong("C_OpenSession", 0L), c.getLong("C_Login", 0L),
          c.getLong("C_FindObjectsInit", 0L),
          r.getValue("audit_writes_over_10ms") == null ? "n/a" : r.getLong("audit_writes_over_10ms").toString()));
    }
    return sb.toString();
  }
}
