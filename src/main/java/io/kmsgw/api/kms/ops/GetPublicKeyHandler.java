package io.kmsgw.api.kms.ops;

import io.kmsgw.api.kms.Input;
import io.kmsgw.api.kms.KeyIdResolver;
import io.kmsgw.api.kms.OperationContext;
import io.kmsgw.api.kms.OperationHandler;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.kms.PublicKeys;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionStage;

/**
 * GetPublicKey: the DER SubjectPublicKeyInfo of an asymmetric key, with what a user outside KMS needs to use it
 * safely (the key's spec, usage and algorithms), as the model's response has them.
 */
public final class GetPublicKeyHandler implements OperationHandler {
  private final PublicKeys publicKeys;
  private final KeyIdResolver resolver;

  public GetPublicKeyHandler(PublicKeys publicKeys, KeyIdResolver resolver) {
    this.publicKeys = publicKeys;
    this.resolver = resolver;
  }

  @Override
  public String name() {
    return "GetPublicKey";
  }

  @Override
  public CompletionStage<Map<String, Object>> handle(OperationContext ctx, Input in) {
    UUID keyId = resolver.any(in.string("KeyId"));
    ctx.keyArn(resolver.arn(keyId));
    return publicKeys.getPublicKey(ctx.caller(), keyId).thenApply(r -> {
      KeyRecord key = r.key();
      ctx.keyArn(key.arn());
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("KeyId", key.arn());
      out.put("PublicKey", r.subjectPublicKeyInfo());
      if (key.keySpec().hasCustomerMasterKeySpec()) {
        out.put("CustomerMasterKeySpec", key.keySpec().name());
      }
      out.put("KeySpec", key.keySpec().name());
      out.put("KeyUsage", key.keyUsage().name());
      // an asymmetric key's usage is never GENERATE_VERIFY_MAC: no MacAlgorithms here
      KeyMetadataView.putAlgorithms(out, key);
      return out;
    });
  }
}
