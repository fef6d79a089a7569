package io.kmsgw.api.kms.ops;

import io.kmsgw.api.kms.Input;
import io.kmsgw.api.kms.OperationContext;
import io.kmsgw.api.kms.OperationHandler;
import io.kmsgw.domain.CustomKeyStore;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.kms.Authorizer;
import io.kmsgw.kms.CustomKeyStoreService;
import io.kmsgw.keystore.KeyStoreConnection;
import io.kmsgw.keystore.KeyStores;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * CreateCustomKeyStore, ConnectCustomKeyStore, DisconnectCustomKeyStore, DescribeCustomKeyStores,
 * UpdateCustomKeyStore, DeleteCustomKeyStore. KeyStorePassword is sensitive: it is turned into a char array,
 * sealed, and wiped; it never reaches a log or the store in clear.
 */
public final class CustomKeyStoreOperations {
  private final CustomKeyStoreService service;
  private final KeyStores stores;
  private final Authorizer authz;

  public CustomKeyStoreOperations(CustomKeyStoreService service, KeyStores stores, Authorizer authz) {
    this.service = service;
    this.stores = stores;
    this.authz = authz;
  }

  /**
   * The handlers, each checking the caller's IAM policies first: custom key store operations have no key policy
   * (AWS: "Cross-account use: No", IAM policy only).
   */
  public List<OperationHandler> handlers() {
    return unchecked().stream().<OperationHandler>map(h -> new SimpleHandler(h.name(), (ctx, in) -> {
      authz.onAccount(ctx.caller(), "kms:" + h.name(), "*", null);
      return h.handle(ctx, in);
    })).toList();
  }

  private List<OperationHandler> unchecked() {
    return List.of(
        new SimpleHandler("CreateCustomKeyStore", (ctx, in) -> {
          if (in.has("XksProxyUriEndpoint") || in.has("XksProxyUriPath") || in.has("XksProxyAuthenticationCredential")
              || in.has("XksProxyConnectivity") || in.has("XksProxyVpcEndpointServiceName")) {
            throw new KmsException(ErrorCode.UNSUPPORTED_OPERATION,
                "External key stores are not supported; kmsgw offers AWS_CLOUDHSM key stores.");
          }
          return service.create(ctx.caller(), in.string("CustomKeyStoreName"), in.string("CloudHsmClusterId"),
                  in.string("TrustAnchorCertificate"), password(in), in.string("CustomKeyStoreType"))
              .thenApply(c -> Map.of("CustomKeyStoreId", c.id()));
        }),
        new SimpleHandler("ConnectCustomKeyStore", (ctx, in) -> service.connect(ctx.caller(),
            in.string("CustomKeyStoreId")).thenApply(v -> Map.of())),
        new SimpleHandler("DisconnectCustomKeyStore", (ctx, in) -> service.disconnect(ctx.caller(),
            in.string("CustomKeyStoreId")).thenApply(v -> Map.of())),
        new SimpleHandler("UpdateCustomKeyStore", (ctx, in) -> service.update(ctx.caller(),
            in.string("CustomKeyStoreId"), in.string("NewCustomKeyStoreName"), password(in),
            in.string("CloudHsmClusterId")).thenApply(c -> Map.of())),
        new SimpleHandler("DeleteCustomKeyStore", (ctx, in) -> service.delete(ctx.caller(),
            in.string("CustomKeyStoreId")).thenApply(v -> Map.of())),
        new SimpleHandler("DescribeCustomKeyStores", this::describe));
  }

  private static char[] password(Input in) {
    String p = in.string("KeyStorePassword");
    return p == null ? null : p.toCharArray();
  }

  private CompletionStage<Map<String, Object>> describe(OperationContext ctx, Input in) {
    String id = in.string("CustomKeyStoreId");
    String name = in.string("CustomKeyStoreName");
    if (id != null && name != null) {
      throw KmsException.validation("Specify CustomKeyStoreId or CustomKeyStoreName, not both.");
    }
    return service.list(ctx.caller()).thenApply(all -> {
      List<Map<String, Object>> entries = new ArrayList<>();
      for (CustomKeyStore c : all) {
        if ((id != null && !id.equals(c.id())) || (name != null && !name.equals(c.name()))) {
          continue;
        }
        entries.add(entry(c));
      }
      if ((id != null || name != null) && entries.isEmpty()) {
        throw new KmsException(ErrorCode.CUSTOM_KEY_STORE_NOT_FOUND,
            "Custom key store " + (id != null ? id : name) + " does not exist.");
      }
      return Paging.page("CustomKeyStores", entries, in.string("Marker"), in.integer("Limit"), 100, "c1:");
    });
  }

  private Map<String, Object> entry(CustomKeyStore c) {
    KeyStoreConnection.Status s = stores.custom(c.id()).map(KeyStoreConnection::status).orElse(null);
    Map<String, Object> e = new LinkedHashMap<>();
    e.put("CustomKeyStoreId", c.id());
    e.put("CustomKeyStoreName", c.name());
    e.put("CloudHsmClusterId", c.clusterId());
    e.put("TrustAnchorCertificate", c.trustAnchor());
    e.put("ConnectionState", s == null ? "DISCONNECTED" : s.state().name());
    if (s != null && s.state() == KeyStoreConnection.State.FAILED && s.errorCode() != null) {
      e.put("ConnectionErrorCode", s.errorCode());
    }
    e.put("CreationDate", c.createdAt());
    e.put("CustomKeyStoreType", "AWS_CLOUDHSM");
    return e;
  }
}
