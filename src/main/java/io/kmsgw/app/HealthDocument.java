package io.kmsgw.app;

import io.kmsgw.api.http.GatewayHttpServer;
import io.kmsgw.audit.AuditLog;
import io.kmsgw.domain.CustomKeyStore;
import io.kmsgw.hsm.HsmStats;
import io.kmsgw.keystore.KeyStoreConnection;
import io.kmsgw.keystore.KeyStores;
import io.kmsgw.kms.CustomKeyStoreService;
import io.kmsgw.kms.KeyCache;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The health document ({@code GET /healthz/detail}, for callers allowed {@code kms:DescribeCustomKeyStores}; the
 * anonymous {@code GET /healthz} shows only whether it is healthy): the default key store's state and pool, and
 * {@code keyStores}: every store (the default one first) with its state and pool, and {@code audit}: whether the
 * trail takes events, its failed writes and its slow ones ({@link AuditLog#health()}). Healthy (200) when the
 * default store is CONNECTED and the audit trail takes events (without it every KMS request is refused).
 */
final class HealthDocument {
  private HealthDocument() {}

  static GatewayHttpServer.Health of(KeyStores stores, CustomKeyStoreService customStores, KeyCache cache,
      AuditLog audit) {
    // the default key store at the top level (as before custom key stores), then every store
    KeyStoreConnection.Status main = stores.defaultStore().status();
    Map<String, Object> doc = storeHealth(main, null);
    doc.put("keys", cache.size());
    List<Map<String, Object>> all = new ArrayList<>();
    for (KeyStoreConnection c : stores.all()) {
      all.add(storeHealth(c.status(), customStores.find(c.id()).orElse(null)));
    }
    doc.put("keyStores", all);
    doc.put("audit", audit.health());
    return new GatewayHttpServer.Health(main.state() == KeyStoreConnection.State.CONNECTED && audit.writable(), doc);
  }

  private static Map<String, Object> storeHealth(KeyStoreConnection.Status s, CustomKeyStore custom) {
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("keyStore", s.keyStoreId());
    if (custom != null) {
      doc.put("name", custom.name());
      doc.put("cluster", custom.clusterId());
    }
    doc.put("state", s.state().name());
    doc.put("errorCode", s.errorCode());
    doc.put("message", s.message());
    HsmStats st = s.stats();
    if (st != null) {
      Map<String, Object> pool = new LinkedHashMap<>();
      pool.put("size", st.poolSize());
      pool.put("open", st.open());
      pool.put("inUse", st.inUse());
      pool.put("idle", st.idle());
      pool.put("waiting", st.waiting());
      pool.put("borrowTimeouts", st.borrowTimeouts());
      pool.put("evicted", st.evicted());
      doc.put("pool", pool);
      Map<String, Object> calls = new LinkedHashMap<>();
      calls.put("C_OpenSession", st.sessionsOpened());
      calls.put("C_Login", st.logins());
      calls.put("C_FindObjectsInit", st.findObjects());
      doc.put("pkcs11Calls", calls);
    }
    if (!s.mechanisms().listed().isEmpty()) {
      doc.put("mechanisms", s.mechanisms().summary());
    }
    return doc;
  }
}
