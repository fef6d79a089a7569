package io.kmsgw.api.kms.ops;

import io.kmsgw.api.kms.Input;
import io.kmsgw.api.kms.OperationContext;
import io.kmsgw.api.kms.OperationHandler;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.kms.KeyService;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/** ListKeys: pages of at most Limit keys (default 100, as AWS), ordered by key id. */
public final class ListKeysHandler implements OperationHandler {
  static final int DEFAULT_LIMIT = 100;

  private final KeyService keys;

  public ListKeysHandler(KeyService keys) {
    this.keys = keys;
  }

  @Override
  public String name() {
    return "ListKeys";
  }

  @Override
  public CompletionStage<Map<String, Object>> handle(OperationContext ctx, Input in) {
    int limit = in.integer("Limit") == null ? DEFAULT_LIMIT : in.integer("Limit");
    return keys.listKeys(ctx.caller(), in.string("Marker"), limit).thenApply(page -> {
      List<Map<String, Object>> entries = new ArrayList<>();
      for (KeyRecord k : page.keys()) {
        entries.add(Map.of("KeyId", k.keyId().toString(), "KeyArn", k.arn()));
      }
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("Keys", entries);
      out.put("Truncated", page.nextMarker() != null);
      if (page.nextMarker() != null) {
        out.put("NextMarker", page.nextMarker());
      }
      return out;
    });
  }
}
