package io.kmsgw.api.kms.ops;

import io.kmsgw.api.kms.Input;
import io.kmsgw.api.kms.OperationContext;
import io.kmsgw.api.kms.OperationHandler;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.kms.CryptoService;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/** GenerateRandom: 1..1024 bytes from the HSM's random generator. */
public final class GenerateRandomHandler implements OperationHandler {
  private final CryptoService crypto;

  public GenerateRandomHandler(CryptoService crypto) {
    this.crypto = crypto;
  }

  @Override
  public String name() {
    return "GenerateRandom";
  }

  @Override
  public CompletionStage<Map<String, Object>> handle(OperationContext ctx, Input in) {
    in.refuseRecipient();
    Integer n = in.integer("NumberOfBytes");
    if (n == null) {
      throw KmsException.validation(
          "1 validation error detected: Value at 'numberOfBytes' failed to satisfy constraint: Member must not be null");
    }
    return crypto.generateRandom(ctx.caller(), n, in.string("CustomKeyStoreId"))
        .thenApply(bytes -> Map.of("Plaintext", bytes));
  }
}
