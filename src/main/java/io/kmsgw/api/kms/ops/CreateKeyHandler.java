package io.kmsgw.api.kms.ops;

import io.kmsgw.api.kms.Input;
import io.kmsgw.api.kms.OperationContext;
import io.kmsgw.api.kms.OperationHandler;
import io.kmsgw.domain.Tag;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.kms.KeyService;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/** CreateKey: a symmetric CMK generated in the HSM. */
public final class CreateKeyHandler implements OperationHandler {
  private final KeyService keys;
  private final KeyMetadataView view;

  public CreateKeyHandler(KeyService keys, KeyMetadataView view) {
    this.keys = keys;
    this.view = view;
  }

  @Override
  public String name() {
    return "CreateKey";
  }

  @Override
  public CompletionStage<Map<String, Object>> handle(OperationContext ctx, Input in) {
    if (in.has("XksKeyId")) {
      throw new KmsException(ErrorCode.UNSUPPORTED_OPERATION, "External key store keys are not supported yet.");
    }
    String keySpec = in.string("KeySpec");
    String cmkSpec = in.string("CustomerMasterKeySpec");
    if (keySpec != null && cmkSpec != null) {
      throw KmsException.validation("You cannot specify both KeySpec and CustomerMasterKeySpec.");
    }
    String spec = keySpec != null ? keySpec : cmkSpec != null ? cmkSpec : "SYMMETRIC_DEFAULT";
    String usage = in.string("KeyUsage") == null ? "ENCRYPT_DECRYPT" : in.string("KeyUsage");
    String origin = in.string("Origin") == null ? "AWS_KMS" : in.string("Origin");
    List<Tag> tags = new ArrayList<>();
    for (Map<String, Object> t : in.structures("Tags")) {
      tags.add(new Tag((String) t.get("TagKey"), (String) t.get("TagValue")));
    }
    KeyService.NewKey request = new KeyService.NewKey(in.string("Description"), spec, usage, origin, tags,
        in.string("CustomKeyStoreId"), in.flag("MultiRegion"), in.string("Policy"),
        in.flag("BypassPolicyLockoutSafetyCheck"));
    return keys.createKey(ctx.caller(), request).thenApply(key -> {
      ctx.keyArn(key.arn());
      return Map.of("KeyMetadata", view.of(key));
    });
  }
}
