package io.kmsgw.api.kms.ops;

import io.kmsgw.api.kms.Input;
import io.kmsgw.api.kms.KeyIdResolver;
import io.kmsgw.api.kms.OperationContext;
import io.kmsgw.api.kms.OperationHandler;
import io.kmsgw.kms.KeyService;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/** DescribeKey. */
public final class DescribeKeyHandler implements OperationHandler {
  private final KeyService keys;
  private final KeyIdResolver resolver;
  private final KeyMetadataView view;

  public DescribeKeyHandler(KeyService keys, KeyIdResolver resolver, KeyMetadataView view) {
    this.keys = keys;
    this.resolver = resolver;
    this.view = view;
  }

  @Override
  public String name() {
    return "DescribeKey";
  }

  @Override
  public CompletionStage<Map<String, Object>> handle(OperationContext ctx, Input in) {
    java.util.UUID keyId = resolver.any(in.string("KeyId"));
    ctx.keyArn(resolver.arn(keyId));
    return keys.lookup(ctx.caller(), "DescribeKey", keyId, null).thenApply(key -> {
      ctx.keyArn(key.arn());
      return Map.of("KeyMetadata", view.of(key));
    });
  }
}
