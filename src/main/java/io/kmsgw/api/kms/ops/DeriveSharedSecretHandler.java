package io.kmsgw.api.kms.ops;

import io.kmsgw.api.kms.Input;
import io.kmsgw.api.kms.KeyIdResolver;
import io.kmsgw.api.kms.OperationContext;
import io.kmsgw.api.kms.OperationHandler;
import io.kmsgw.domain.Algorithms;
import io.kmsgw.kms.AgreementService;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionStage;

/**
 * DeriveSharedSecret: ECDH in the HSM with a KEY_AGREEMENT key and the peer's DER SubjectPublicKeyInfo; the raw shared
 * secret in {@code SharedSecret}. {@code Recipient} (Nitro attestation) is refused.
 */
public final class DeriveSharedSecretHandler implements OperationHandler {
  private final AgreementService agreement;
  private final KeyIdResolver resolver;

  public DeriveSharedSecretHandler(AgreementService agreement, KeyIdResolver resolver) {
    this.agreement = agreement;
    this.resolver = resolver;
  }

  @Override
  public String name() {
    return "DeriveSharedSecret";
  }

  @Override
  public CompletionStage<Map<String, Object>> handle(OperationContext ctx, Input in) {
    in.refuseRecipient();
    UUID keyId = resolver.any(in.string("KeyId"));
    ctx.keyArn(resolver.arn(keyId));
    Algorithms.KeyAgreement algorithm = Algorithms.KeyAgreement.valueOf(in.string("KeyAgreementAlgorithm"));
    return agreement.deriveSharedSecret(ctx.caller(), keyId, algorithm, in.bytes("PublicKey"), in.flag("DryRun"))
        .thenApply(r -> {
          ctx.keyArn(r.key().arn());
          Map<String, Object> out = new LinkedHashMap<>();
          out.put("KeyId", r.key().arn());
          out.put("SharedSecret", r.secret());
          out.put("KeyAgreementAlgorithm", r.algorithm().name());
          out.put("KeyOrigin", r.key().origin().name());
          return out;
        });
  }
}
