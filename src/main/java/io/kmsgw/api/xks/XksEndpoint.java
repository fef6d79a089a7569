package io.kmsgw.api.xks;

import io.kmsgw.auth.AccessKey;
import io.kmsgw.auth.SigV4Verifier;
import io.kmsgw.auth.ReplaceableCredentialStore;
import io.kmsgw.config.XksSettings;
import io.kmsgw.domain.Caller;
import io.kmsgw.domain.Tag;
import io.kmsgw.kms.ExternalKeyService;
import io.kmsgw.policy.PolicyDocument;
import java.time.Clock;
import java.util.List;

/**
 * One XKS endpoint as it serves: its URI path prefix, its own SigV4 verifier (service name, region, and every
 * configured credential, so two can be valid during a rotation), the keys it exposes, and its optional policy.
 */
public record XksEndpoint(String name, String prefix, SigV4Verifier verifier, ExternalKeyService.Exposure exposure,
    XksAuthorizer authorizer, ReplaceableCredentialStore credentials) {

  public static XksEndpoint of(XksSettings.Endpoint e, List<PolicyDocument> policy, Clock clock) {
    ReplaceableCredentialStore credentials = new ReplaceableCredentialStore(keys(e));
    SigV4Verifier verifier = new SigV4Verifier(e.service(), e.region(), credentials, clock);
    ExternalKeyService.Exposure exposure = new ExternalKeyService.Exposure(e.keyStoreId(),
        e.taggedKeys() ? new Tag(XksSettings.ENDPOINT_TAG, e.name()) : null, e.keys(), e.labels());
    return new XksEndpoint(e.name(), e.prefix(), verifier, exposure, new XksAuthorizer(policy), credentials);
  }

  /** Makes exactly the endpoint's newly configured credentials valid, at once (a rotation without a restart). */
  public void replaceCredentials(XksSettings.Endpoint e) {
    credentials.replace(keys(e));
  }

  private static List<AccessKey> keys(XksSettings.Endpoint e) {
    return e.credentials().stream()
        .map(c -> new AccessKey(c.accessKeyId(), c.secretAccessKey(), identity(e.name(), c.accessKeyId())))
        .toList();
  }

  /** Who signed: the endpoint's credential, named for logs (never its secret). */
  static Caller identity(String endpoint, String accessKeyId) {
    return new Caller("xks:" + endpoint + "/" + accessKeyId, "", accessKeyId, accessKeyId, "XksCredential");
  }
}
