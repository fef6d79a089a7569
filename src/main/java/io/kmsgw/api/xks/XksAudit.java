package io.kmsgw.api.xks;

import io.kmsgw.domain.Caller;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * Records one XKS key operation (GetKeyMetadata, Encrypt, Decrypt), refused and failed ones included, in the
 * gateway's audit trail: they are uses of HSM keys (issue #15, item 3). The XKS API answers only once the returned
 * stage completes, so an acknowledged request's event is durable, as for KMS calls.
 */
@FunctionalInterface
public interface XksAudit {
  /**
   * @param operation the XKS operation: GetKeyMetadata, Encrypt or Decrypt
   * @param caller the endpoint's credential that signed, or null when the signature was refused
   * @param request the endpoint, externalKeyId and requestMetadata, in the API's member names with a capital first
   *     letter (never plaintext, AAD, ciphertext, IV, tag or metadata); null when the body was not read
   * @param keyArn the gateway key the request named, or null (an HSM-labelled key, or not resolved)
   * @param errorName the XKS errorName answered, or null on success
   */
  record XksCall(String requestId, String operation, Caller caller, String sourceIp, String userAgent,
      Map<String, Object> request, String keyArn, String errorName, String errorMessage) {}

  CompletionStage<Void> record(XksCall call);
}
