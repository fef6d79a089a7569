package io.kmsgw.api.kms.ops;

import io.kmsgw.api.kms.Input;
import io.kmsgw.api.kms.KeyIdResolver;
import io.kmsgw.api.kms.OperationContext;
import io.kmsgw.api.kms.OperationHandler;
import io.kmsgw.kms.SigningService;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionStage;

/** Sign and Verify with an asymmetric SIGN_VERIFY key. */
public final class SigningOperations {
  private final SigningService signing;
  private final KeyIdResolver resolver;

  public SigningOperations(SigningService signing, KeyIdResolver resolver) {
    this.signing = signing;
    this.resolver = resolver;
  }

  public List<OperationHandler> handlers() {
    return List.of(new SimpleHandler("Sign", this::sign), new SimpleHandler("Verify", this::verify));
  }

  private UUID key(OperationContext ctx, Input in) {
    UUID keyId = resolver.any(in.string("KeyId"));
    ctx.keyArn(resolver.arn(keyId));
    return keyId;
  }

  private CompletionStage<Map<String, Object>> sign(OperationContext ctx, Input in) {
    return signing.sign(ctx.caller(), key(ctx, in), in.bytes("Message"), in.string("MessageType"),
        in.string("SigningAlgorithm"), in.flag("DryRun")).thenApply(r -> {
          ctx.keyArn(r.key().arn());
          Map<String, Object> out = new LinkedHashMap<>();
          out.put("KeyId", r.key().arn());
          out.put("Signature", r.signature());
          out.put("SigningAlgorithm", r.algorithm().name());
          return out;
        });
  }

  private CompletionStage<Map<String, Object>> verify(OperationContext ctx, Input in) {
    return signing.verify(ctx.caller(), key(ctx, in), in.bytes("Message"), in.string("MessageType"),
        in.bytes("Signature"), in.string("SigningAlgorithm"), in.flag("DryRun")).thenApply(r -> {
          ctx.keyArn(r.key().arn());
          Map<String, Object> out = new LinkedHashMap<>();
          out.put("KeyId", r.key().arn());
          out.put("SignatureValid", true);
          out.put("SigningAlgorithm", r.algorithm().name());
          return out;
        });
  }
}
