package io.kmsgw.api.kms.ops;

import io.kmsgw.api.kms.Input;
import io.kmsgw.api.kms.KeyIdResolver;
import io.kmsgw.api.kms.OperationContext;
import io.kmsgw.api.kms.OperationHandler;
import io.kmsgw.domain.Algorithms;
import io.kmsgw.kms.MacService;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionStage;

/**
 * GenerateMac and VerifyMac: an HMAC of a message of 1 to 4096 bytes (the model's limits, checked before) under an
 * HMAC key, computed in the HSM.
 */
public final class MacOperations {
  private final MacService macs;
  private final KeyIdResolver resolver;

  public MacOperations(MacService macs, KeyIdResolver resolver) {
    this.macs = macs;
    this.resolver = resolver;
  }

  public List<OperationHandler> handlers() {
    return List.of(new SimpleHandler("GenerateMac", this::generateMac),
        new SimpleHandler("VerifyMac", this::verifyMac));
  }

  private CompletionStage<Map<String, Object>> generateMac(OperationContext ctx, Input in) {
    UUID keyId = resolver.any(in.string("KeyId"));
    ctx.keyArn(resolver.arn(keyId));
    Algorithms.Mac algorithm = Algorithms.Mac.valueOf(in.string("MacAlgorithm"));
    return macs.generateMac(ctx.caller(), keyId, in.bytes("Message"), algorithm, in.flag("DryRun")).thenApply(r -> {
      ctx.keyArn(r.key().arn());
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("Mac", r.mac());
      out.put("MacAlgorithm", r.algorithm().name());
      out.put("KeyId", r.key().arn());
      return out;
    });
  }

  private CompletionStage<Map<String, Object>> verifyMac(OperationContext ctx, Input in) {
    UUID keyId = resolver.any(in.string("KeyId"));
    ctx.keyArn(resolver.arn(keyId));
    Algorithms.Mac algorithm = Algorithms.Mac.valueOf(in.string("MacAlgorithm"));
    return macs.verifyMac(ctx.caller(), keyId, in.bytes("Message"), algorithm, in.bytes("Mac"), in.flag("DryRun"))
        .thenApply(key -> {
          ctx.keyArn(key.arn());
          Map<String, Object> out = new LinkedHashMap<>();
          out.put("KeyId", key.arn());
          out.put("MacValid", true);
          out.put("MacAlgorithm", algorithm.name());
          return out;
        });
  }
}
