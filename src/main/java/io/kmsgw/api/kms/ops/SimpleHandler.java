package io.kmsgw.api.kms.ops;

import io.kmsgw.api.kms.Input;
import io.kmsgw.api.kms.OperationContext;
import io.kmsgw.api.kms.OperationHandler;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.function.BiFunction;

/** An operation whose handling fits in a few lines: its name and a function. */
record SimpleHandler(String name, BiFunction<OperationContext, Input, CompletionStage<Map<String, Object>>> fn)
    implements OperationHandler {
  @Override
  public CompletionStage<Map<String, Object>> handle(OperationContext ctx, Input input) {
    return fn.apply(ctx, input);
  }
}
