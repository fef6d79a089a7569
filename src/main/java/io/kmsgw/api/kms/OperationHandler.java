package io.kmsgw.api.kms;

import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * One KMS operation. Handlers get a request already checked against the model, call the operations layer, and
 * return the response members (strings, numbers, booleans, {@code byte[]} for blobs, {@code Instant} for
 * timestamps, lists and maps). They may throw {@link io.kmsgw.error.KmsException} or fail the stage with it.
 */
public interface OperationHandler {
  /** The operation name, as in {@code X-Amz-Target: TrentService.<name>}. */
  String name();

  CompletionStage<Map<String, Object>> handle(OperationContext ctx, Input input);
}
