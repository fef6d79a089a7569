package io.kmsgw.api.kms.ops;

import io.kmsgw.api.kms.Input;
import io.kmsgw.api.kms.KeyIdResolver;
import io.kmsgw.api.kms.OperationContext;
import io.kmsgw.api.kms.OperationHandler;
import io.kmsgw.domain.Alias;
import io.kmsgw.kms.AliasService;
import io.kmsgw.kms.KmsSettings;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionStage;

/**
 * CreateAlias, UpdateAlias, DeleteAlias, ListAliases. A target is named by key id or key ARN (not by another
 * alias), as AWS requires.
 */
public final class AliasOperations {
  static final int DEFAULT_LIMIT = 50;

  private final AliasService aliases;
  private final KeyIdResolver resolver;
  private final KmsSettings settings;

  public AliasOperations(AliasService aliases, KeyIdResolver resolver, KmsSettings settings) {
    this.aliases = aliases;
    this.resolver = resolver;
    this.settings = settings;
  }

  public List<OperationHandler> handlers() {
    return List.of(
        new SimpleHandler("CreateAlias", (ctx, in) -> aliases.create(ctx.caller(), in.string("AliasName"),
            target(ctx, in)).thenApply(a -> Map.of())),
        new SimpleHandler("UpdateAlias", (ctx, in) -> aliases.update(ctx.caller(), in.string("AliasName"),
            target(ctx, in)).thenApply(a -> Map.of())),
        new SimpleHandler("DeleteAlias", (ctx, in) -> aliases.delete(ctx.caller(), in.string("AliasName"))
            .thenApply(v -> Map.of())),
        new SimpleHandler("ListAliases", this::list));
  }

  private UUID target(OperationContext ctx, Input in) {
    UUID id = resolver.keyOnly(in.string("TargetKeyId"));
    ctx.keyArn(resolver.arn(id));
    return id;
  }

  private CompletionStage<Map<String, Object>> list(OperationContext ctx, Input in) {
    UUID keyId = in.string("KeyId") == null ? null : resolver.keyOnly(in.string("KeyId"));
    int limit = in.integer("Limit") == null ? DEFAULT_LIMIT : in.integer("Limit");
    return aliases.list(ctx.caller(), keyId, in.string("Marker"), limit).thenApply(page -> {
      List<Map<String, Object>> entries = new ArrayList<>();
      for (Alias a : page.aliases()) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("AliasName", a.name());
        e.put("AliasArn", a.arn(settings.region()));
        e.put("TargetKeyId", a.targetKeyId().toString());
        e.put("CreationDate", a.createdAt());
        e.put("LastUpdatedDate", a.updatedAt());
        entries.add(e);
      }
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("Aliases", entries);
      out.put("Truncated", page.nextMarker() != null);
      if (page.nextMarker() != null) {
        out.put("NextMarker", page.nextMarker());
      }
      return out;
    });
  }
}
